// SrtCaller: one outbound SRT connection (caller mode) on an event loop,
// driven by the process's SrtBridge, so the loop never blocks: the host is
// resolved off the loop (core::Resolver), the socket is created and
// configured here (SRTO_STREAMID, SRTO_PASSPHRASE/PBKEYLEN, SRTO_LATENCY from
// the URL, SRTO_CONNTIMEO, non-blocking) and the bridge calls srt_connect and
// reports completion. Used by the edge: UpstreamPull (receive) and
// ForwardTarget (send).
//
// Receiving: the bridge reads datagrams into the connection's bounded input
// queue (SrtConn::kInputQueueCap; overflow: the batch is dropped and
// counted); they reach the handler as one byte run per loop task. No byte for
// stall_timeout_ms ends the connection.
// Sending: send() stages bytes and packs them into messages of payload_size
// bytes (1316 = 7 TS packets); flush() sends a shorter last message so the
// live edge is not held back. When libsrt's send buffer is full the caller
// asks the bridge to watch for writability. Hard cap: send() refuses (takes
// nothing, returns false) once bytes waiting (staged + libsrt's send
// buffer) would pass max_queued_bytes; the owner picks the overflow action.
//
// Failure (connect refused or timed out, connection lost, stall, send error):
// the handler's on_srt_closed(why) runs once, on the loop, never inside
// start(), send() or flush(); nothing after it. Rejections name libsrt's
// reason and code (1404 = stream not found at a Weir origin).
//
// Thread: its loop only. Ownership: owned by its handler's object; destroying
// it (also from inside a handler callback) closes the connection through the
// bridge; the SrtConn outlives it in tasks already posted (they find no session).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/resolver.h"
#include "core/srt_url.h"
#include "core/timer.h"
#include "ingest/srt/srt_conn.h"

namespace weir::ingest::srt {

class SrtBridge;

struct SrtCallerOptions {
  uint64_t connect_timeout_ms = 3000;
  uint64_t stall_timeout_ms = 0;  // receiving: no byte for this long fails (0: off)
  bool receive = true;            // false: send only (the bridge does not read)
  size_t max_queued_bytes = 4 << 20;
  size_t payload_size = 1316;     // bytes per message, whole TS packets
};

class SrtCaller final : public SrtSession {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_srt_connected() = 0;
    virtual void on_srt_data(core::ByteView bytes) = 0;
    virtual void on_srt_closed(const std::string& why) = 0;
  };

  SrtCaller(core::Loop& loop, SrtBridge& bridge, Handler& handler, SrtCallerOptions options);
  ~SrtCaller() override;
  SrtCaller(const SrtCaller&) = delete;
  SrtCaller& operator=(const SrtCaller&) = delete;

  // Starts connecting to `url`; an error (the bridge cannot start) is returned
  // here and no callback follows. Once only.
  core::Status start(const core::SrtUrl& url);
  // Sending side, connected: stages `bytes`; false if not connected or the cap
  // would be passed (nothing taken).
  bool send(core::ByteView bytes);
  // Sends what is staged (a message shorter than payload_size), unless blocked.
  void flush();
  // Closes the connection now, without a callback (the owner is done with it).
  void close() {
    connected_ = false;
    closed_ = true;
    detach();
  }
  bool connected() const { return connected_; }
  size_t queued_bytes() const { return (pending_.size() - pending_off_) + size_t(snd_buffer_); }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

  // SrtSession (loop thread, posted by the bridge)
  void on_input() override;
  void on_writable() override;
  void on_connected() override;
  void on_conn_end(const std::string& why) override { fail(why); }
  void close_for_shutdown() override { fail("shutting down"); }

 private:
  void connect_to(const core::SocketAddress& to);
  void fail(const std::string& why);
  // Fails from a posted task (the caller of send()/flush() may free us).
  void fail_later(std::string why);
  void detach();
  // Sends whole messages (and the partial one if `partial`); stops when blocked.
  void pump(bool partial);
  void sample();

  core::Loop& loop_;
  SrtBridge& bridge_;
  Handler& handler_;
  const SrtCallerOptions opts_;
  core::SrtUrl url_;
  SrtConnRef conn_;
  core::Resolver resolver_;
  core::Timer connect_timer_;
  core::Timer stall_timer_;
  std::vector<uint8_t> work_;     // input taken from the connection's queue
  std::vector<uint8_t> pending_;  // staged output from pending_off_
  size_t pending_off_ = 0;
  int64_t snd_buffer_ = 0;        // bytes in libsrt's send buffer, last sampled
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  int64_t last_rx_ms_ = 0;
  bool started_ = false, connected_ = false, blocked_ = false, closed_ = false;
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
};

}  // namespace weir::ingest::srt
