// ConsumerHandle: a Consumer's attachment to one stream on one loop: its
// cursor into the loop's ring, its policy, and the read that applies the
// policy. RAII: destroying the handle releases it. Every consumer (viewer
// writer, SRT player, HLS packager, recorder, transcoder input) reads through
// one of these; none keeps its own cursor logic.
//
//   class Recorder : public Consumer {
//     ConsumerHandle in_{*this};
//     void start(const std::shared_ptr<StreamHub>& hub) {
//       in_.attach(hub, {ConsumerPolicy::kLossless, StartAt::kLatestKeyframe});
//       on_packets();
//     }
//     void on_packets() override {
//       for (;;) {
//         batch_.clear();
//         ReadResult r = in_.read(batch_, 1 << 20);
//         if (r == ReadResult::kGap) { mark_gap(in_.gap()); continue; }
//         if (r != ReadResult::kOk) break;  // kEmpty: told again when more arrive
//         for (auto& p : batch_) write(*p);
//       }
//     }
//   };
//
// What a read returns: at the start point, the configs and metadata in effect
// (each at most once per consumer), then ring packets in order. Configs that
// repeat what the consumer already has are left out.
//
// Thread: the loop it attached on, for every method. Lifetime: the Consumer
// must outlive its handle (usually the handle is a member of the consumer).
// Invariant: attached() <=> the LoopHub lists this handle.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "origin/consumer.h"
#include "origin/gop_ring.h"
#include "origin/hub_packet.h"

namespace weir::origin {

class LoopHub;
class StreamHub;

class ConsumerHandle {
 public:
  explicit ConsumerHandle(Consumer& consumer) : consumer_(consumer) {}
  ~ConsumerHandle() { release(); }
  ConsumerHandle(const ConsumerHandle&) = delete;
  ConsumerHandle& operator=(const ConsumerHandle&) = delete;

  // Attaches to the calling loop's mirror of `hub` and places the cursor per
  // `opts.start`. False (not attached) if the stream has ended. A handle
  // that is attached is released first.
  bool attach(const std::shared_ptr<StreamHub>& hub, ConsumerOptions opts);
  // Attaches to a given loop mirror (used by attach(); tests use it with a
  // LoopHub of their own).
  void attach_to(std::shared_ptr<LoopHub> lh, ConsumerOptions opts);
  // Detaches; idempotent and safe from inside any callback of the consumer.
  // The loop drops its mirror of the stream once no consumer is left.
  void release();
  bool attached() const { return lh_ != nullptr; }

  // The next packets for this consumer, up to about `max_bytes` (at least
  // one packet when any is due), appended to `out`. See ReadResult.
  ReadResult read(std::vector<PacketRef>& out, size_t max_bytes);
  // After read() returned kGap: what was lost. The next read continues.
  const ConsumerGap& gap() const { return gap_; }
  // If everything has been read, marks the consumer waiting (it is told of
  // the next packet) and returns true.
  bool wait_if_caught_up();
  // Bytes still to send: ring bytes past the cursor plus the consumer's queue.
  uint64_t backlog() const;

  const ConsumerOptions& options() const { return opts_; }
  // The loop's ring (nullptr when not attached).
  const GopRing* ring() const;
  // The stream (nullptr when not attached).
  StreamHub* stream() const;
  uint64_t skips() const { return skips_; }
  Consumer& consumer() const { return consumer_; }

 private:
  friend class LoopHub;
  // Called by the LoopHub when it drops this handle on its own (stream end,
  // too slow): clears the attachment without touching the LoopHub's list.
  void detached();
  void count_attach(bool attach);

  Consumer& consumer_;
  std::shared_ptr<LoopHub> lh_;
  std::shared_ptr<StreamHub> ts_hub_;  // set while this handle counts as a TS user
  ConsumerOptions opts_;

  // Cursor state, owned by the LoopHub's logic.
  uint64_t cursor_ = 0;
  bool waiting_ = false;
  bool need_sync_ = false;   // drop packets until the next sync point
  bool send_start_ = false;  // configs/metadata of start_ still to send
  bool gap_pending_ = false; // lossless: a resync lost packets; report before reading on
  GopStart start_;
  // The config/metadata packets this consumer was last given. Refs, not
  // addresses: a held packet cannot be freed and its address reused.
  PacketRef sent_video_config_, sent_audio_config_, sent_metadata_;
  int64_t last_dts_ = -1;  // of the last media packet delivered
  ConsumerGap gap_;
  uint64_t skips_ = 0;
};

}  // namespace weir::origin
