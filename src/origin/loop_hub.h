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
#include "origin/consumer_handle.h"
#include "origin/gop_ring.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class StreamHub;

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
  // Lost packets (inbox overflow): restart every consumer at the next sync
  // point; lossless consumers get a gap at their next read.
  void resync();

  size_t consumer_count() const { return consumers_.size(); }

  // Applies the lag rules to every kViewer consumer, including those with a
  // write in flight (called by a timer, so stuck sockets are found without
  // per-packet work): past the hard cap -> detached, on_too_slow; past the
  // skip size -> the next read starts at the newest keyframe.
  void sweep();
  // The stream is over: detach and tell every consumer.
  void end(const std::string& why);
  bool ended() const { return ended_; }

 private:
  friend class ConsumerHandle;
  // Through ConsumerHandle only.
  void add(ConsumerHandle& c, StartAt at);
  void remove(ConsumerHandle& c);
  ReadResult read(ConsumerHandle& c, std::vector<PacketRef>& out, size_t max_bytes);
  bool wait_if_caught_up(ConsumerHandle& c);
  uint64_t backlog(const ConsumerHandle& c) const;

  void skip_to_latest(ConsumerHandle& c);
  void place_at(ConsumerHandle& c, const GopStart* start);
  void mark_waiting(ConsumerHandle& c);

  core::Loop& loop_;
  std::shared_ptr<StreamHub> stream_;
  GopRing ring_;
  const core::AppConfig& app_;
  std::atomic<uint64_t>* skip_counter_;
  std::vector<ConsumerHandle*> consumers_;
  std::vector<ConsumerHandle*> waiting_;
  std::vector<ConsumerHandle*> notifying_;  // the batch being notified; removed entries become nullptr
  bool pending_notify_ = false;
  bool ended_ = false;
};

}  // namespace weir::origin
