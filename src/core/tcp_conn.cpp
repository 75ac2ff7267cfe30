#include "core/tcp_conn.h"

#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/tcp_conn_tls.h"

namespace weir::core {

namespace {
// One read buffer per loop thread: reads are consumed synchronously in the read
// callback, so a single scratch area serves every connection of the loop.
constexpr size_t kReadScratch = 64 * 1024;
thread_local uint8_t t_read_scratch[kReadScratch];

std::string peer_of(uv_tcp_t* t) {
  SocketAddress a;
  int len = sizeof(a.ss);
  if (uv_tcp_getpeername(t, reinterpret_cast<sockaddr*>(&a.ss), &len) != 0) return "?";
  a.len = socklen_t(len);
  return a.to_string();
}
}  // namespace

std::atomic<int64_t> TcpConn::s_open_accepted{0};

void TcpConn::Handler::on_timeout(const char* what) {
  if (conn_) conn_->close();
}

TcpConn::TcpConn(Loop& loop) : loop_(&loop) {
  uv_tcp_init(loop.uv(), &tcp_);
  uv_timer_init(loop.uv(), &timer_);
  tcp_.data = this;
  timer_.data = this;
  req_.data = this;
  connect_req_.data = this;
  handles_open_ = 2;
  last_read_ = last_write_progress_ = uv_now(loop.uv());
}

TcpConn::~TcpConn() = default;

TcpConn* TcpConn::accept_from(Loop& loop, uv_stream_t* server) {
  auto* c = new TcpConn(loop);
  c->accepted_ = true;
  s_open_accepted.fetch_add(1, std::memory_order_relaxed);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp_)) != 0) {
    c->close();
    return nullptr;
  }
  uv_tcp_nodelay(&c->tcp_, 1);
  c->peer_ = peer_of(&c->tcp_);
  return c;
}

TcpConn* TcpConn::connect_to(Loop& loop, const SocketAddress& addr, std::function<void(TcpConn*, int)> cb) {
  auto* c = new TcpConn(loop);
  c->on_connected_ = std::move(cb);
  c->peer_ = addr.to_string();
  int rc = uv_tcp_connect(&c->connect_req_, &c->tcp_, addr.sa(), [](uv_connect_t* req, int status) {
    auto* self = static_cast<TcpConn*>(req->data);
    if (status == 0) uv_tcp_nodelay(&self->tcp_, 1);
    auto cb = std::move(self->on_connected_);
    if (cb) cb(self, status);
  });
  if (rc != 0) {
    // Report asynchronously so callers see one code path.
    bool posted = loop.post([c, rc] {
      auto cb = std::move(c->on_connected_);
      if (cb) cb(c, rc);
    });
    if (!posted) {
      c->on_connected_ = nullptr;
      c->close();
    }
  }
  return c;
}

void TcpConn::set_handler(Handler* h) {
  handler_ = h;
  if (h) h->conn_ = this;
}

void TcpConn::start_reading() {
  if (closing_ || reading_) return;
  reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &TcpConn::on_alloc, &TcpConn::on_read_cb) == 0;
  if (tls_ && reading_) tls_resume();
}

void TcpConn::stop_reading() {
  if (!reading_ || closing_) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  reading_ = false;
}

void TcpConn::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(reinterpret_cast<char*>(t_read_scratch), kReadScratch);
}

void TcpConn::on_read_cb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<TcpConn*>(s->data);
  if (self->closing_) return;
  if (n > 0) {
    self->io_.add_in(uint64_t(n));
    self->last_read_ = uv_now(self->loop_->uv());
    if (self->tls_) self->tls_received(ByteView(reinterpret_cast<const uint8_t*>(buf->base), size_t(n)));
    else if (self->handler_) self->handler_->on_read(ByteView(reinterpret_cast<const uint8_t*>(buf->base), size_t(n)));
  } else if (n < 0) {
    self->reading_ = false;
    uv_read_stop(s);
    if (self->handler_) self->handler_->on_read_end(int(n));
    else self->close();
  }
}

bool TcpConn::flush() {
  if (closing_ || deferred_error_) return false;
  if (writing_) return false;
  flushing_ = true;
  const bool all_written = flush_now();
  flushing_ = false;
  return all_written;
}

bool TcpConn::flush_now() {
  if (tls_ && !tls_encrypt_queue()) return false;
  if (queue_bufs_.empty()) {
    queue_holds_.clear();
    return pending_bytes_ == 0;
  }
  inflight_bufs_.swap(queue_bufs_);
  inflight_holds_.swap(queue_holds_);
  inflight_files_.swap(queue_files_);
  inflight_first_ = 0;
  uv_os_fd_t fd = -1;
  if (!inflight_files_.empty() && uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) == 0) {
    if (write_now_with_files(fd)) {
      release_inflight();
      return true;
    }
  } else {
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), inflight_bufs_.data(), unsigned(inflight_bufs_.size()));
    if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
    if (n < 0) {
      fail("write", n);
      return false;
    }
    written(size_t(n));
  }
  if (inflight_first_ >= inflight_bufs_.size()) {
    release_inflight();
    return true;
  }
  int rc = uv_write(&req_, reinterpret_cast<uv_stream_t*>(&tcp_), inflight_bufs_.data() + inflight_first_,
                    unsigned(inflight_bufs_.size() - inflight_first_), &TcpConn::on_write_cb);
  if (rc != 0) {
    fail("write", rc);
    return false;
  }
  writing_ = true;
  return false;
}

// Buffers before a file run go out with sendmsg (MSG_MORE: a response head
// and its body leave in the same segments), file bytes with sendfile. Any
// shortfall or error stops here: uv_write then sends the rest from the
// mappings and reports real socket errors on its own path.
bool TcpConn::write_now_with_files(int fd) {
  size_t next_file = 0;
  while (inflight_first_ < inflight_bufs_.size()) {
    const bool at_file = next_file < inflight_files_.size() && inflight_files_[next_file].index == inflight_first_;
    if (!at_file) {
      size_t stop = next_file < inflight_files_.size() ? inflight_files_[next_file].index : inflight_bufs_.size();
      size_t count = std::min<size_t>(stop - inflight_first_, IOV_MAX);
      msghdr msg{};
      msg.msg_iov = reinterpret_cast<iovec*>(inflight_bufs_.data() + inflight_first_);
      msg.msg_iovlen = count;
      size_t want = 0;
      for (size_t i = 0; i < count; ++i) want += inflight_bufs_[inflight_first_ + i].len;
      int flags = MSG_DONTWAIT | MSG_NOSIGNAL | (stop < inflight_bufs_.size() ? MSG_MORE : 0);
      ssize_t n = ::sendmsg(fd, &msg, flags);
      if (n <= 0) return false;
      written(size_t(n));
      if (size_t(n) < want) return false;
      continue;
    }
    const FileRef& f = inflight_files_[next_file++];
    uv_buf_t& b = inflight_bufs_[inflight_first_];
    off_t off = off_t(f.offset);
    size_t want = b.len;
    ssize_t n = ::sendfile(fd, f.fd, &off, want);
    if (n <= 0) return false;
    written(size_t(n));
    if (size_t(n) < want) return false;
  }
  return true;
}

// Advances the in-flight iovecs past n bytes the kernel accepted.
void TcpConn::written(size_t n) {
  if (n == 0) return;
  io_.add_out(n);
  pending_bytes_ -= std::min(n, pending_bytes_);
  last_write_progress_ = uv_now(loop_->uv());
  while (n > 0 && inflight_first_ < inflight_bufs_.size()) {
    uv_buf_t& b = inflight_bufs_[inflight_first_];
    if (n >= b.len) {
      n -= b.len;
      ++inflight_first_;
    } else {
      b.base += n;
      b.len -= n;
      n = 0;
    }
  }
}

void TcpConn::release_inflight() {
  inflight_bufs_.clear();
  inflight_holds_.clear();
  inflight_files_.clear();
  inflight_first_ = 0;
}

void TcpConn::on_write_cb(uv_write_t* req, int status) {
  auto* self = static_cast<TcpConn*>(req->data);
  self->writing_ = false;
  if (status == 0) {
    size_t rest = 0;
    for (size_t i = self->inflight_first_; i < self->inflight_bufs_.size(); ++i) rest += self->inflight_bufs_[i].len;
    self->written(rest);
  }
  self->release_inflight();
  if (self->closing_) return;
  if (status != 0) {
    self->fail("write", status);
    return;
  }
  if (self->flush() && self->handler_) self->handler_->on_drained();
}

void TcpConn::fail(const char* what, int uv_status) {
  if (closing_) return;
  if (flushing_) {
    if (!deferred_error_) {
      deferred_error_ = uv_status ? uv_status : UV_EPIPE;
      uv_timer_start(&timer_, &TcpConn::on_timer_cb, 0, 0);
    }
    return;
  }
  if (handler_) handler_->on_read_end(uv_status);
  if (!closing_) close();
}

void TcpConn::close() {
  if (closing_) return;
  if (tls_) tls_close_notify();
  closing_ = true;
  reading_ = false;
  auto* h = reinterpret_cast<uv_handle_t*>(&tcp_);
  auto* t = reinterpret_cast<uv_handle_t*>(&timer_);
  if (!uv_is_closing(h)) uv_close(h, &TcpConn::on_close_cb);
  else --handles_open_;
  if (!uv_is_closing(t)) uv_close(t, &TcpConn::on_close_cb);
  else --handles_open_;
  if (handles_open_ == 0) on_close_cb(nullptr);
}

void TcpConn::on_close_cb(uv_handle_t* h) {
  TcpConn* self = h ? static_cast<TcpConn*>(h->data) : nullptr;
  if (!self) return;
  if (--self->handles_open_ > 0) return;
  self->queue_bufs_.clear();
  self->queue_holds_.clear();
  self->queue_files_.clear();
  self->release_inflight();
  if (self->accepted_) s_open_accepted.fetch_sub(1, std::memory_order_relaxed);
  if (self->handler_) {
    self->handler_->conn_ = nullptr;
    self->handler_->on_closed();
  }
  delete self;
}

size_t TcpConn::kernel_queued() const {
  uv_os_fd_t fd;
  if (closing_ || uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return 0;
  int outq = 0;
  if (::ioctl(fd, SIOCOUTQ, &outq) != 0 || outq < 0) return 0;
  return size_t(outq);
}

void TcpConn::set_send_buffer(size_t bytes) {
  if (bytes == 0 || closing_) return;
  int v = int(std::min<size_t>(bytes, INT32_MAX));
  uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(&tcp_), &v);
}

void TcpConn::set_idle_timeout(uint64_t ms) {
  idle_ms_ = ms;
  last_read_ = uv_now(loop_->uv());
  arm_timer();
}

void TcpConn::set_send_timeout(uint64_t ms) {
  send_ms_ = ms;
  arm_timer();
}

void TcpConn::arm_timer() {
  if (closing_ || deferred_error_) return;
  uint64_t period = 0;
  if (idle_ms_) period = idle_ms_;
  if (send_ms_) period = period ? std::min(period, send_ms_) : send_ms_;
  if (!period) {
    uv_timer_stop(&timer_);
    return;
  }
  // Check a few times per period; activity only updates timestamps, so the
  // hot read/write paths never touch the timer.
  uint64_t tick = std::max<uint64_t>(period / 4, 50);
  uv_timer_start(&timer_, &TcpConn::on_timer_cb, tick, tick);
}

void TcpConn::on_timer_cb(uv_timer_t* t) {
  auto* self = static_cast<TcpConn*>(t->data);
  if (self->closing_) return;
  if (self->deferred_error_) return self->fail("write", self->deferred_error_);
  uint64_t now = uv_now(self->loop_->uv());
  const char* what = nullptr;
  if (self->idle_ms_ && now - self->last_read_ >= self->idle_ms_) what = "idle timeout";
  else if (self->send_ms_ && self->writing_ && now - self->last_write_progress_ >= self->send_ms_) what = "send stalled";
  if (!what) return;
  if (self->handler_) self->handler_->on_timeout(what);
  else self->close();
}

}  // namespace weir::core
