// MixClock: where one mix input's timestamps land on the program's timeline,
// shared by its picture and its sound so they stay together (audio/video
// sync is the input's own: a picture and a sample with the same input
// timestamp are presented at the same program time).
//
//   program time = input timestamp + offset
//
// The offset is set so that the input's live edge (the packet that arrived
// with the least delay) is presented kDelayMs after it arrived: the delay
// covers network jitter and the decoder's reordering. Anchoring: the first
// packet sets it; for kSettleMs after that a packet arriving earlier than
// predicted lowers it (the burst of old packets an attach at the latest
// keyframe brings is not the live edge). After that it moves only when the
// input breaks the window: a packet arriving after its presentation time
// (jitter past kDelayMs, the input's clock slower than ours, a timestamp
// jump back) or more than kDelayMs + kEarlyMs before it (a jump forward, a
// new publish with another base): re-anchored on that packet, counted.
// A new publish of the input resets it (MixEngine::lost).
//
// Times in ms; `now` is the program's clock (ms since the mix started).
// Thread: the mix's strand (one thread at a time).
#pragma once

#include <cstdint>

namespace weir::transcode {

class MixClock {
 public:
  static constexpr int64_t kDelayMs = 200;
  static constexpr int64_t kSettleMs = 1000;
  static constexpr int64_t kEarlyMs = 500;

  // A packet stamped `ts` (its dts: decode order) reached the mix at `now`.
  void observe(int64_t ts, int64_t now);
  bool anchored() const { return anchored_; }
  // The program time of input time `ts` (anchored() only).
  int64_t to_program(int64_t ts) const { return ts + offset_; }
  int64_t offset() const { return offset_; }
  uint64_t reanchors() const { return reanchors_; }
  void reset() { anchored_ = false; }

 private:
  bool anchored_ = false;
  int64_t offset_ = 0;
  int64_t settle_until_ = 0;
  uint64_t reanchors_ = 0;
};

}  // namespace weir::transcode
