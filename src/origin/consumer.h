// Consumer: one viewer (or packager, recorder, relay) reading a stream on one
// loop. It holds only a cursor into its LoopHub's ring; the packets stay shared.
//
// Thread: the loop the LoopHub lives on. Lifetime: the consumer's owner calls
// LoopHub::remove_consumer before freeing it; the hub never frees a consumer.
#pragma once

#include <cstdint>
#include <string>

#include "origin/gop_ring.h"
#include "origin/hub_packet.h"

namespace weir::origin {

class LoopHub;

class Consumer {
 public:
  virtual ~Consumer() = default;

  // New packets exist past the cursor. Sent only to consumers that last found
  // nothing to read (waiting), once per batch of appends.
  virtual void on_packets() = 0;
  // The stream ended (publisher gone past its grace, or the hub shut down).
  // The consumer is already detached when this is called.
  virtual void on_stream_end(const std::string& why) = 0;
  // Bytes this consumer has taken from the ring but not yet sent (socket
  // queue); counted with its ring backlog against the app's byte caps.
  virtual size_t queued_bytes() const { return 0; }
  // Refreshes whatever queued_bytes() reads that is costly to measure (the
  // kernel's socket queue). Called by the LoopHub's periodic sweep.
  virtual void sample_queue() {}
  // Backlog past the hard cap; the consumer must close itself. Detached already.
  virtual void on_too_slow(uint64_t backlog_bytes) = 0;

  uint64_t skips() const { return skips_; }
  LoopHub* hub() const { return hub_; }

 private:
  friend class LoopHub;
  LoopHub* hub_ = nullptr;
  uint64_t cursor_ = 0;
  bool waiting_ = false;
  bool need_sync_ = false;   // drop packets until the next sync point
  bool send_start_ = false;  // configs/metadata of start_ still to send
  GopStart start_;
  const HubPacket* sent_video_config_ = nullptr;
  const HubPacket* sent_audio_config_ = nullptr;
  const HubPacket* sent_metadata_ = nullptr;
  uint64_t skips_ = 0;
};

}  // namespace weir::origin
