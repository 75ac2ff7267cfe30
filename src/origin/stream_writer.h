// StreamWriter: sends one stream to one viewer socket. It is the viewer's
// Consumer: it holds a cursor, takes batches of shared packets from its
// LoopHub and queues their precomputed framing plus body as iovecs (no copy,
// no per-packet allocation once its batch vector has grown). At the live edge
// each packet is written as soon as it arrives (TCP_NODELAY); a viewer that is
// behind gets many packets per writev.
//
// Audio hold: at the live edge of a stream with video, audio frames that
// arrive alone wait up to the app's viewer_audio_hold_ms for the next video
// frame and go out in the same writev; anything queued with video goes out
// at once. Per-write kernel cost dominates fan-out, and
// about half the packets of a typical stream are small audio frames; video is
// never held.
//
// Thread: the viewer's loop. Ownership: owned by the viewer session, which
// also owns the TcpConn; the writer never closes the conn itself but reports
// through Owner::on_writer_done, after which it is detached.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tcp_conn.h"
#include "core/timer.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"

namespace weir::origin {

class Origin;
class StreamHub;
struct AppCounters;

enum class Framing {
  kFlv,    // HTTP-FLV
  kWsFlv,  // WebSocket-FLV
  kRtmp,   // RTMP play
  kTs,     // HTTP MPEG-TS (needs StreamHub::add_ts_user while it plays)
};

class StreamWriter final : public Consumer {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // The writer stopped for `why` (stream ended, too slow); close the viewer.
    virtual void on_writer_done(const std::string& why) = 0;
  };

  StreamWriter(Origin& origin, core::TcpConn* conn, Framing framing, Owner* owner);
  ~StreamWriter() override;

  // Attaches to this loop's mirror of `hub` (as a kViewer consumer) and
  // starts sending. False if the stream has ended meanwhile.
  bool start(const std::shared_ptr<StreamHub>& hub, StartAt at);
  // The socket drained: send more. The owner forwards TcpConn's on_drained.
  void on_writable() { pump(); }
  // Detaches from the hub (idempotent). Call before the conn goes away.
  void stop();
  // The loop's ring for this viewer (valid while started).
  const GopRing* ring() const { return in_.ring(); }

  void on_packets() override { pump(); }
  // Queues what this viewer has not read (a write in flight held it back)
  // behind the queued bytes; the owner sends them before closing.
  void on_stream_ending() override;
  void on_stream_end(const std::string& why) override;
  // Our write queue plus the kernel's unsent bytes as last sampled.
  size_t queued_bytes() const override { return conn_ ? conn_->pending_bytes() + kernel_queued_ : 0; }
  void sample_queue() override { kernel_queued_ = conn_ ? conn_->kernel_queued() : 0; }
  void on_too_slow(uint64_t backlog_bytes) override;

 private:
  void pump();
  // Frames batch_ onto the conn and counts the bytes; true if it held only
  // audio. Clears batch_.
  bool queue_batch();
  void frame(const PacketRef& p);
  void finish(const std::string& why);
  void release_hold();

  Origin& origin_;
  AppCounters* app_counters_ = nullptr;  // the stream's app (set by start)
  core::TcpConn* conn_;
  Framing framing_;
  Owner* owner_;
  ConsumerHandle in_{*this};
  std::vector<PacketRef> batch_;
  bool pumping_ = false;
  bool done_ = false;
  core::Timer hold_timer_;
  uint64_t audio_hold_ms_ = 0;
  size_t kernel_queued_ = 0;
};

}  // namespace weir::origin
