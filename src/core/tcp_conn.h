// One accepted (or connected) TCP stream on one loop.
//
// Thread: loop thread only.
// Ownership: a TcpConn frees itself after its handles are closed, right after
// Handler::on_closed(); the handler must drop its pointer there.
// Writes: bytes are queued as (ByteView, hold) pairs; the ByteViews must stay
// valid while their holds live, and the conn keeps the holds until the kernel
// has the bytes. At most one uv_write is in flight; queued bytes go out in order.
// Slices of memfd-backed Buffers go out with sendfile(2) when the socket takes
// them at once (no copy into the kernel); whatever it does not take goes by
// the ordinary write path from the same bytes' mapping.
// Reads: on_read gets a view into a per-loop scratch buffer, valid only during
// the call.
// TLS (optional, core/tls.h): a layer under the handler. Appended plaintext is
// encrypted at flush() and goes out as ciphertext through the same write
// path (no sendfile: the kernel cannot encrypt); received bytes are
// decrypted before on_read. pending_bytes() then counts plaintext not yet
// encrypted plus ciphertext not yet in the kernel. A conn without TLS pays
// one branch in flush(), in the read callback and in close().
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "core/connections_per_ip.h"
#include "core/io_counters.h"
#include "core/loop.h"
#include "core/net.h"

namespace weir::core {

class TlsContext;

class TcpConn {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_read(ByteView data) = 0;
    // The peer closed (UV_EOF), or a read or write failed. The conn is still
    // open; most handlers close it.
    virtual void on_read_end(int uv_status) = 0;
    // Everything queued has been written; fan-out writers pull more here.
    virtual void on_drained() {}
    // Idle or send-stall timeout; `what` says which. Default: close.
    virtual void on_timeout(const char* what);
    // TLS only: the handshake completed (before any decrypted byte arrives).
    virtual void on_secure() {}
    // Handles are closed; the conn is freed right after this returns.
    virtual void on_closed() = 0;

   protected:
    friend class TcpConn;
    TcpConn* conn_ = nullptr;
  };

  // Wraps an accepted stream: call from the listener's connection callback.
  static TcpConn* accept_from(Loop& loop, uv_stream_t* server);
  // Connects to addr (numeric); `on_connected(status)` runs on the loop. On a
  // failure the conn is still open: the callback closes it. If the loop
  // refuses to report a synchronous failure (it is stopping), the conn is
  // closed without a callback.
  static TcpConn* connect_to(Loop& loop, const SocketAddress& addr, std::function<void(TcpConn*, int)> on_connected);

  // Starts TLS. Client: right after the TCP connect, before any write;
  // `server_name` goes out as SNI and is checked against the certificate when
  // the context verifies peers. Server: on an accepted conn, before reading.
  // Bytes appended before the handshake completes are held and encrypted
  // after it. A failed handshake (protocol, certificate, name) or record ends
  // the conn: the handler gets on_read_end(UV_EPROTO), tls_error() says why.
  Status start_tls_client(std::shared_ptr<const TlsContext> ctx, std::string_view server_name);
  Status start_tls_server(std::shared_ptr<const TlsContext> ctx);
  bool is_tls() const { return tls_ != nullptr; }
  // The handshake completed (false without TLS).
  bool tls_established() const;
  // Why TLS failed; empty if it did not.
  const std::string& tls_error() const;

  void set_handler(Handler* h);
  void start_reading();
  void stop_reading();

  // Queue bytes and keep `hold` alive until they are written.
  void append(ByteView bytes) {
    if (bytes.empty()) return;
    queue_bufs_.push_back(uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                                      unsigned(bytes.size())));
    pending_bytes_ += bytes.size();
  }
  void keep(Ref<const RefCounted> hold) { queue_holds_.push_back(std::move(hold)); }
  void append(const Slice& s) {
    if (s.empty()) return;
    if (s.buffer()->fd() >= 0)
      queue_files_.push_back(FileRef{queue_bufs_.size(), s.buffer()->fd(), uint64_t(s.data() - s.buffer()->data())});
    append(s.view());
    keep(Ref<const RefCounted>(s.buffer()));
  }
  // Starts writing what is queued. Returns true if everything queued so far is
  // already in the kernel (nothing pending); never calls back synchronously:
  // a write error found here reaches the handler's on_read_end from the loop
  // on its next turn (the caller may be the handler, or an object it owns).
  bool flush();
  void send(const Slice& s) {
    append(s);
    flush();
  }
  // Bytes queued or in flight, not yet accepted by the kernel.
  size_t pending_bytes() const { return pending_bytes_; }
  // A uv_write is in flight (the kernel did not take everything at once).
  bool write_in_flight() const { return writing_; }

  // Bytes the kernel holds in this socket's send buffer, not yet sent or not
  // yet acknowledged (SIOCOUTQ). One syscall: sample it, don't poll it.
  size_t kernel_queued() const;
  // Caps the kernel send buffer (SO_SNDBUF; Linux doubles the value). 0 keeps
  // the kernel's autotuning.
  void set_send_buffer(size_t bytes);

  // Closes once: pending writes are cancelled. `reason` is logged by the owner.
  void close();
  bool closing() const { return closing_; }

  // Timeouts in ms; 0 disables. Idle: no bytes read for that long. Send stall:
  // a write pending with no progress for that long.
  void set_idle_timeout(uint64_t ms);
  void set_send_timeout(uint64_t ms);
  void touch() { last_read_ = uv_now(loop_->uv()); }

  Loop& loop() { return *loop_; }
  const std::string& peer() const { return peer_; }
  uint64_t bytes_read() const { return io_.in(); }
  uint64_t bytes_written() const { return io_.out(); }
  // The same counts, readable from any thread (core/io_counters.h); valid
  // until the conn is freed (after Handler::on_closed returns).
  const IoCounters& io() const { return io_; }
  uv_tcp_t* handle() { return &tcp_; }
  // The connection's share of its address's limits.max_connections_per_ip,
  // released when the connection is freed (its close callback).
  void hold_ip_slot(ConnectionsPerIp::Slot slot) { ip_slot_ = std::move(slot); }
  // Accepted connections open in the process (all loops).
  static int64_t open_accepted() { return s_open_accepted.load(std::memory_order_relaxed); }

 private:
  struct TlsState;  // tcp_conn_tls.cpp

  explicit TcpConn(Loop& loop);
  ~TcpConn();
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void on_read_cb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_write_cb(uv_write_t* req, int status);
  static void on_close_cb(uv_handle_t* h);
  static void on_timer_cb(uv_timer_t* t);
  bool flush_now();  // flush() without the re-entry flag
  // Queued bytes that a file holds too: queue_bufs_[index] is the mapping of
  // `len` bytes of fd at offset.
  struct FileRef {
    size_t index;
    int fd;
    uint64_t offset;
  };
  // flush() when the queue holds file bytes: sendmsg/sendfile in order while
  // the kernel takes everything; returns false if it stopped short.
  bool write_now_with_files(int fd);
  void written(size_t n);
  void release_inflight();
  void arm_timer();
  void fail(const char* what, int uv_status);
  // TLS layer (tcp_conn_tls.cpp).
  void tls_received(ByteView ciphertext);
  void tls_pump();
  void tls_resume();
  bool tls_encrypt_queue();
  void tls_close_notify();
  void tls_send_final();
  void tls_fail();

  Loop* loop_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_write_t req_{};
  uv_connect_t connect_req_{};
  std::function<void(TcpConn*, int)> on_connected_;
  Handler* handler_ = nullptr;
  std::string peer_;

  std::vector<uv_buf_t> queue_bufs_, inflight_bufs_;
  std::vector<Ref<const RefCounted>> queue_holds_, inflight_holds_;
  std::vector<FileRef> queue_files_, inflight_files_;
  size_t inflight_first_ = 0;
  size_t pending_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool reading_ = false;
  bool flushing_ = false;
  int deferred_error_ = 0;  // a write error from inside flush(), reported by on_timer_cb
  int handles_open_ = 0;

  uint64_t idle_ms_ = 0, send_ms_ = 0;
  uint64_t last_read_ = 0, last_write_progress_ = 0;
  IoCounters io_;  // bytes read (socket level) and accepted by the kernel
  bool accepted_ = false;
  std::unique_ptr<TlsState> tls_;
  ConnectionsPerIp::Slot ip_slot_;
  static std::atomic<int64_t> s_open_accepted;
};

}  // namespace weir::core
