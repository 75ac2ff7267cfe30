// SrtPlayer: the loop side of an SRT connection that plays (m=request). A
// Consumer of the stream's LoopHub: it reads batches of shared packets with a
// cursor, like StreamWriter, and sends each packet's MPEG-TS bytes
// (HubPacket::ts(), made once per stream while TS users exist; the player is
// one from start to close) with non-blocking srt_sendmsg. Bytes of
// consecutive packets are packed into messages of the app's payload_size
// rounded down to whole 188-byte TS packets; a shorter message goes out when
// nothing more is due, so the live edge is not held back.
//
// Backpressure: when libsrt's send buffer is full (SRT_EASYNCSND) the player
// stops and asks the bridge to watch the socket for SRT_EPOLL_OUT; it resumes
// when that is posted back. queued_bytes() counts the bytes in libsrt's send
// buffer (srt_getsndbuffer, sampled by the LoopHub sweep and after each send
// burst) plus what the player holds unsent, so the app's viewer_skip_bytes and
// viewer_max_bytes apply as for TCP viewers.
//
// End of stream: what was read from the ring still goes out, then the
// connection lingers until libsrt's send buffer is empty (the peer acknowledged
// every packet) and the peer's latency (SRTO_PEERLATENCY) plus kLingerMarginMs
// has passed since the last send, so the peer's TSBPD has delivered the
// stream's last packets before it sees the close (a receiver drops what it
// holds undelivered when its peer closes: the last ~latency of every stream
// was lost). Bounded: at most the peer latency + kMaxLingerMs; a peer close
// or a server shutdown ends it at once.
//
// Thread: its loop only. Ownership: frees itself (deferred to a posted task)
// after close(); the SrtConn outlives it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/timer.h"
#include "ingest/srt/srt_conn.h"
#include "origin/client_registry.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"
#include "origin/play_request.h"

namespace weir::origin {
class StreamHub;
struct AppCounters;
}

namespace weir::ingest::srt {

class SrtPlayer final : public SrtSession, public origin::Consumer {
 public:
  // Loop thread: creates the session for `c`; runs what admission left for
  // the loop, then plays, waits for the stream (the app's play_wait_ms) or
  // closes `c` with a log line.
  static void start(const SrtConnRef& c);

  // SrtSession
  void on_writable() override;
  void on_conn_end(const std::string& why) override { close(why); }
  void close_for_shutdown() override { close("server shutting down"); }
  // Consumer
  void on_packets() override { pump(); }
  // Takes the unread tail (held back while the send buffer was full) into
  // out_; the linger after on_stream_end sends it.
  void on_stream_ending() override;
  void on_stream_end(const std::string& why) override;
  size_t queued_bytes() const override { return size_t(snd_queued_) + stage_len_ + unsent_bytes(); }
  void sample_queue() override;
  void on_too_slow(uint64_t backlog_bytes) override;

 private:
  static constexpr int64_t kLingerMarginMs = 100;
  static constexpr int64_t kMaxLingerMs = 3000;

  explicit SrtPlayer(SrtConnRef c);
  ~SrtPlayer() override;
  void start_playing(const std::shared_ptr<origin::StreamHub>& hub);
  void pump();
  // Moves bytes of out_ into messages and sends them; false when blocked or closed.
  bool send_out();
  // Sends the staged message; false when blocked or closed.
  bool flush_stage();
  size_t unsent_bytes() const;
  void close(const std::string& why);
  // After the stream ended: sends what is left, then closes once delivered (see above).
  void linger_step();

  SrtConnRef conn_;
  core::Loop& loop_;
  size_t chunk_;  // message size: payload_size rounded down to whole TS packets
  origin::ConsumerHandle in_{*this};  // kViewer, with TS output
  bool played_ = false;               // attached once (for the close log line)
  origin::AppCounters* app_counters_ = nullptr;  // the stream's app (set when playing starts)
  std::vector<origin::PacketRef> out_;         // read from the ring, not yet fully staged
  size_t out_idx_ = 0, out_off_ = 0;
  uint8_t stage_[1504];
  size_t stage_len_ = 0;
  int64_t snd_queued_ = 0;
  origin::PlayRequest play_;
  origin::ClientRegistry::Handle client_;  // active while playing
  bool blocked_ = false;
  bool pumping_ = false;
  bool closing_ = false;
  bool lingering_ = false;        // the stream ended; closing once the peer has the tail
  std::string end_why_;           // the close reason once lingering ends
  int64_t linger_deadline_ms_ = 0;
  int64_t last_send_ms_ = 0;      // monotonic ms of the last message handed to libsrt
  int64_t peer_latency_ms_ = 0;
  core::Timer linger_timer_{loop_};
};

}  // namespace weir::ingest::srt
