// TcpConn's TLS layer: the members that run only when start_tls_* was called.
// The plain paths in tcp_conn.cpp reach here through one `if (tls_)` each.
#include <algorithm>
#include <iterator>

#include "core/tcp_conn.h"
#include "core/tcp_conn_tls.h"

namespace weir::core {

namespace {
// Decrypted bytes for on_read, one buffer per loop thread (consumed
// synchronously, like the socket read scratch).
constexpr size_t kPlainScratch = 64 * 1024;
thread_local uint8_t t_plain[kPlainScratch];
}  // namespace

Status TcpConn::start_tls_client(std::shared_ptr<const TlsContext> ctx, std::string_view server_name) {
  if (closing_) return Status::error("tls: connection is closing");
  if (tls_) return Status::error("tls: already started");
  auto s = TlsSession::client(std::move(ctx), server_name);
  if (!s) return s.status();
  tls_ = std::make_unique<TlsState>();
  tls_->session = std::move(*s);
  // The client speaks first: its hello goes out now.
  Status st = tls_->session->handshake();
  if (!st) return st;
  flush();
  return Status::ok();
}

Status TcpConn::start_tls_server(std::shared_ptr<const TlsContext> ctx) {
  if (closing_) return Status::error("tls: connection is closing");
  if (tls_) return Status::error("tls: already started");
  auto s = TlsSession::server(std::move(ctx));
  if (!s) return s.status();
  tls_ = std::make_unique<TlsState>();
  tls_->session = std::move(*s);
  return Status::ok();
}

bool TcpConn::tls_established() const { return tls_ && tls_->session->handshake_done(); }

const std::string& TcpConn::tls_error() const {
  static const std::string kNone;
  return tls_ ? tls_->session->error() : kNone;
}

void TcpConn::tls_received(ByteView ciphertext) {
  tls_->session->put_input(ciphertext);
  tls_pump();
}

// Runs the handshake, then hands decrypted bytes to the handler while it
// reads, then sends whatever the session wants to send (handshake messages,
// session tickets, alerts).
void TcpConn::tls_pump() {
  TlsSession& s = *tls_->session;
  if (!s.handshake_done()) {
    Status st = s.handshake();
    if (!st) return tls_fail();
    if (s.output_pending()) flush();
    if (closing_ || !s.handshake_done()) return;
    if (handler_) handler_->on_secure();
    if (closing_) return;
    flush();  // plaintext held during the handshake
    if (closing_) return;
  }
  while (reading_ && !closing_) {
    size_t got = 0;
    while (got < kPlainScratch) {
      auto r = s.read(t_plain + got, kPlainScratch - got);
      if (!r) return tls_fail();
      if (*r == 0) break;
      got += *r;
    }
    if (got == 0) break;
    if (handler_) handler_->on_read(ByteView(t_plain, got));
  }
  if (closing_) return;
  if (s.output_pending()) flush();
  if (s.peer_closed() && reading_ && !closing_) {
    // close_notify (RFC 8446 6.1): the peer sends nothing more; report it as
    // the end of the stream once, as a TCP FIN would be.
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
    if (handler_) handler_->on_read_end(UV_EOF);
    else close();
  }
}

void TcpConn::tls_resume() {
  TlsSession& s = *tls_->session;
  if (!s.input_buffered() && !s.peer_closed()) return;
  if (!tls_->resume) tls_->resume = std::make_unique<Timer>(*loop_);
  tls_->resume->start(0, [this] {
    if (!closing_ && reading_) tls_pump();
  });
}

// flush() with TLS: everything queued is plaintext; it becomes ciphertext in
// the queue (plaintext waits while the handshake runs). Returns false if the
// conn failed.
bool TcpConn::tls_encrypt_queue() {
  TlsState& t = *tls_;
  if (!queue_bufs_.empty() || !queue_holds_.empty()) {
    t.held_bufs.insert(t.held_bufs.end(), queue_bufs_.begin(), queue_bufs_.end());
    std::move(queue_holds_.begin(), queue_holds_.end(), std::back_inserter(t.held_holds));
    queue_bufs_.clear();
    queue_holds_.clear();
    queue_files_.clear();
  }
  TlsSession& s = *t.session;
  if (s.handshake_done() && !t.held_bufs.empty()) {
    size_t plain = 0;
    for (const uv_buf_t& b : t.held_bufs) {
      Status st = s.write(ByteView(reinterpret_cast<const uint8_t*>(b.base), b.len));
      if (!st) {
        tls_fail();
        return false;
      }
      plain += b.len;
    }
    t.held_bufs.clear();
    t.held_holds.clear();
    pending_bytes_ -= std::min(plain, pending_bytes_);
  }
  if (size_t n = s.output_pending()) {
    ByteWriter w(n);
    s.take_output(w.grow(n), n);
    append(w.finish());
  }
  return true;
}

// Best effort: a close_notify goes out only if nothing else is waiting (it
// must not overtake queued data).
void TcpConn::tls_close_notify() {
  TlsSession& s = *tls_->session;
  if (!s.handshake_done() || !s.error().empty()) return;
  s.shutdown();
  tls_send_final();
}

// One non-blocking write of what the session still has to say (an alert
// after a failure, a close_notify), if nothing else is queued or in flight;
// the conn is about to close, so there is no second chance.
void TcpConn::tls_send_final() {
  TlsSession& s = *tls_->session;
  if (writing_ || !queue_bufs_.empty() || !tls_->held_bufs.empty()) return;
  // Not t_plain: a handler may close the conn while it parses bytes there.
  // An alert or a close_notify is one small record.
  uint8_t out[512];
  const size_t n = s.output_pending();
  if (n == 0 || n > sizeof out) return;
  s.take_output(out, n);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(out), unsigned(n));
  (void)uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
}

// The session keeps the reason (tls_error()); the peer gets the alert, if
// any; the handler sees a protocol error.
void TcpConn::tls_fail() {
  if (closing_) return;
  tls_send_final();
  fail("tls", UV_EPROTO);
}

}  // namespace weir::core
