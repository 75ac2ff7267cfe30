// Consumer: anything that reads a stream on one loop: a viewer's writer, the
// SRT player, the HLS packager, a recorder, a transcoder's input, a relay.
// It implements these callbacks; a ConsumerHandle (consumer_handle.h) holds
// its cursor into the loop's ring and attaches, reads and releases for it.
//
// Policies (chosen per consumer when it attaches):
//  - kViewer: a consumer that must stay near live. Past the app's
//    viewer_skip_bytes of backlog it skips to the newest keyframe (counted);
//    past viewer_max_bytes it is detached and told on_too_slow.
//  - kLossless: a consumer that wants everything (recorder, transcoder,
//    packager). It is never skipped or closed for being behind. If the ring
//    evicts packets it has not read, its next read returns kGap with the exact
//    span it lost, then it resumes at the oldest start point still held.
//
// Thread: every callback runs on the loop the consumer attached on.
#pragma once

#include <cstdint>
#include <string>

namespace weir::origin {

enum class ConsumerPolicy { kViewer, kLossless };

enum class StartAt {
  kLatestKeyframe,  // GOP cache: start at the newest sync point
  kOldestKeyframe,  // everything the ring still holds
  kLiveEdge,        // start at the next sync point
};

struct ConsumerOptions {
  ConsumerPolicy policy = ConsumerPolicy::kViewer;
  StartAt start = StartAt::kLatestKeyframe;
  // The consumer sends HubPacket::ts() (MPEG-TS): the stream makes TS bytes
  // while at least one such consumer is attached (StreamHub::add_ts_user).
  bool ts = false;
};

enum class ReadResult {
  kOk,       // packets were appended
  kEmpty,    // caught up; the consumer is told on_packets() when more arrive
  kTooSlow,  // kViewer past the hard cap; the consumer must close (it is still attached)
  kGap,      // kLossless: packets were lost before the next ones; see ConsumerHandle::gap()
};

// What a lossless consumer missed: the ring evicted packets it had not read,
// or the loop lost packets (inbox overflow). Sequence numbers are the ring's.
struct ConsumerGap {
  uint64_t lost_from_seq = 0;  // first packet not delivered
  uint64_t resume_seq = 0;     // first packet delivered after the gap
  uint64_t lost_packets = 0;   // resume_seq - lost_from_seq (known only for evictions; 0 if unknown)
  int64_t last_dts = -1;       // dts of the last packet delivered before the gap (-1: none)
  int64_t resume_dts = -1;     // dts of the packet that resumes (-1: not known yet, resumes at the next sync point)
  const char* cause = "";      // "evicted" or "inbox overflow"
};

class Consumer {
 public:
  virtual ~Consumer() = default;

  // New packets exist past the cursor. Sent only to consumers whose last read
  // found nothing (waiting), once per batch of appends.
  virtual void on_packets() = 0;
  // The stream is ending: called before on_stream_end, while the handle is
  // still attached, so what the ring holds past the cursor can be read now
  // (a viewer that held off reading while its socket write was in flight
  // would otherwise lose the stream's last packets). Reads only: the
  // consumer must not release or free its handle from here.
  virtual void on_stream_ending() {}
  // The stream ended (publisher gone past its grace, or the hub shut down).
  // The handle is already detached when this is called.
  virtual void on_stream_end(const std::string& why) = 0;
  // kViewer only, from the periodic sweep: the backlog passed the hard cap
  // while the consumer was not reading (a stuck socket). Already detached; the
  // consumer must close itself.
  virtual void on_too_slow(uint64_t backlog_bytes) {}
  // Bytes this consumer has taken from the ring but not yet sent (socket
  // queue); counted with its ring backlog against the app's byte caps.
  virtual size_t queued_bytes() const { return 0; }
  // Refreshes whatever queued_bytes() reads that is costly to measure (the
  // kernel's socket queue). Called by the loop's periodic sweep.
  virtual void sample_queue() {}
};

}  // namespace weir::origin
