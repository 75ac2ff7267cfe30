// LoopHub: one loop's mirror of one stream. Holds the loop's copy of the ring
// (refs to the same shared packets) and that loop's consumers. Packets reach a
// loop once, whatever its number of viewers; each loop fans out to its own.
//
// Thread: every method runs on the owning loop's thread, except the fields
// marked otherwise. Lifetime: shared_ptr, held by the loop's OriginLoop map,
// by its StreamHub while attached, and by inbox items in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "origin/consumer.h"
#include "origin/gop_ring.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class StreamHub;

enum class StartAt {
  kLatestKeyframe,  // GOP cache: start at the newest sync point
  kOldestKeyframe,  // everything the ring still holds (packagers backfilling)
  kLiveEdge,        // start at the next sync point
};

enum class ReadResult { kOk, kEmpty, kTooSlow };

class LoopHub {
 public:
  // `skip_counter` (may be null) counts every skip of every consumer.
  LoopHub(core::Loop& loop, std::shared_ptr<StreamHub> hub, GopRing::Limits limits, const core::AppConfig& app,
          std::atomic<uint64_t>* skip_counter = nullptr);
  ~LoopHub();

  core::Loop& loop() const { return loop_; }
  const std::shared_ptr<StreamHub>& stream() const { return stream_; }
  const GopRing& ring() const { return ring_; }
  GopRing& ring_for_seed() { return ring_; }  // only while seeding under the hub lock

  // Adds a packet; consumers are told at the next notify(), so a burst of
  // appends costs one wake-up per waiting consumer.
  void append(PacketRef pkt);
  void notify();
  // Lost packets (inbox overflow): restart every consumer at the next sync point.
  void resync();

  void add_consumer(Consumer* c, StartAt at);
  // Removes without callbacks. Safe to call from inside a callback.
  void remove_consumer(Consumer* c);
  size_t consumer_count() const { return consumers_.size(); }

  // Appends to `out` what `c` should send next, up to about `max_bytes` (at
  // least one packet when any is due): start-point configs first, then ring
  // packets. Applies the lag rules: a cursor behind the ring or a backlog over
  // the app's skip size jumps to the newest sync point (counted in skips); a
  // backlog over the app's hard cap returns kTooSlow. kEmpty marks `c` waiting.
  ReadResult read(Consumer& c, std::vector<PacketRef>& out, size_t max_bytes);

  // If `c` has read everything, marks it waiting (it is told of the next
  // packet) and returns true.
  bool wait_if_caught_up(Consumer& c);
  // Bytes `c` still has to send: its ring backlog plus its socket queue.
  uint64_t backlog(const Consumer& c) const { return ring_.bytes_from(c.cursor_) + c.queued_bytes(); }
  // Applies the lag rules to every consumer, including those with a write in
  // flight (called by a timer, so stuck sockets are found without per-packet
  // work): past the hard cap -> on_too_slow; past the skip size -> the next
  // read starts at the newest keyframe.
  void sweep();
  // The stream is over: detach and tell every consumer.
  void end(const std::string& why);
  bool ended() const { return ended_; }

 private:
  void skip_to_latest(Consumer& c);
  void place_at(Consumer& c, const GopStart* start);

  core::Loop& loop_;
  std::shared_ptr<StreamHub> stream_;
  GopRing ring_;
  const core::AppConfig& app_;
  std::atomic<uint64_t>* skip_counter_;
  std::vector<Consumer*> consumers_;
  std::vector<Consumer*> waiting_;
  std::vector<Consumer*> notifying_;  // the batch being notified; removed entries become nullptr
  bool pending_notify_ = false;
  bool ended_ = false;
};

}  // namespace weir::origin
