#include "ingest/srt/srt_bridge.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <srt/logging_api.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>

#include <spdlog/spdlog.h>

namespace weir::ingest::srt {

namespace {

constexpr int64_t kEpollTimeoutMs = 200;
constexpr size_t kEpollBatch = 1024;
// Messages read from one connection per epoll round, so one fast sender
// cannot starve the others (about 670 KB at 1316 bytes per message).
constexpr int kMaxReadsPerRound = 512;
// Live-mode payloads are at most 1456 bytes; anything up to this fits.
constexpr size_t kRecvSize = 2048;

// The bridge thread has no uv loop: its own monotonic clock for log limits.
int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Messages libsrt logs while refusing a connection; the refusal gets one
// line of our own (with the peer) instead, so these go to debug.
bool rejection_detail(std::string_view m) {
  return m.find("rsp(REJECT)") != std::string_view::npos ||
         m.find("connection rejected due to") != std::string_view::npos ||
         m.find("per enforced encryption") != std::string_view::npos ||
         m.find("Rx process failure") != std::string_view::npos;
}

}  // namespace

std::string srt_last_error() {
  int sys = 0;
  srt_getlasterror(&sys);
  std::string s = srt_getlasterror_str();
  if (sys > 0) s += fmt::format(" ({})", std::strerror(sys));
  return s;
}

SrtBridge::~SrtBridge() { stop(); }

core::Status SrtBridge::ensure_running() {
  std::lock_guard<std::mutex> lk(start_mu_);
  if (stopped_) return core::Status::error("srt: shutting down");
  if (started_) return core::Status::ok();
  if (srt_startup() < 0) return core::Status::errorf("srt: srt_startup: {}", srt_last_error());
  started_ = true;  // srt_cleanup from here on, even if the rest fails
  srt_setloglevel(LOG_WARNING);
  srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME | SRT_LOGF_DISABLE_SEVERITY |
                  SRT_LOGF_DISABLE_EOL);
  srt_setloghandler(this, &SrtBridge::log_handler);
  eid_ = srt_epoll_create();
  if (eid_ < 0) return core::Status::errorf("srt: srt_epoll_create: {}", srt_last_error());
  // An empty set waits its timeout instead of failing at once.
  srt_epoll_set(eid_, SRT_EPOLL_ENABLE_EMPTY);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return core::Status::errorf("srt: eventfd: {}", std::strerror(errno));
  int sev = SRT_EPOLL_IN;
  if (srt_epoll_add_ssock(eid_, wake_fd_, &sev) == SRT_ERROR)
    return core::Status::errorf("srt: srt_epoll_add_ssock: {}", srt_last_error());
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "weir-srt");
  running_.store(true, std::memory_order_release);
  spdlog::debug("srt: bridge started");
  return core::Status::ok();
}

void SrtBridge::stop() {
  std::lock_guard<std::mutex> lk(start_mu_);
  if (stopped_) return;
  stopped_ = true;
  running_.store(false, std::memory_order_release);
  if (!started_) return;
  if (thread_.joinable()) {
    quit_.store(true, std::memory_order_release);
    wake();
    thread_.join();
  }
  // Commands that arrived after the thread's last round: only closes matter.
  take_commands();
  size_t closed = conns_.size();
  std::vector<SrtConnRef> left;
  for (auto& kv : conns_) left.push_back(kv.second);
  for (const SrtConnRef& c : left) close_conn(c);
  conns_.clear();
  listeners_.clear();
  if (eid_ >= 0) srt_epoll_release(eid_);
  eid_ = -1;
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
  {
    std::lock_guard<std::mutex> hl(hook_mu_);
    rejection_hook_ = nullptr;
  }
  srt_cleanup();
  srt_setloghandler(nullptr, &SrtBridge::log_handler);  // no bridge to name rejections any more
  if (closed) spdlog::debug("srt: closed {} connection(s) at stop", closed);
}

void SrtBridge::set_rejection_hook(std::function<void(std::string_view)> hook) {
  std::lock_guard<std::mutex> lk(hook_mu_);
  rejection_hook_ = std::move(hook);
}

// Commands ------------------------------------------------------------------------

void SrtBridge::wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof one);
  (void)n;  // EAGAIN: the counter is already non-zero, the bridge will wake
}

void SrtBridge::push(Cmd cmd) {
  {
    std::lock_guard<std::mutex> lk(cmd_mu_);
    cmds_.push_back(std::move(cmd));
  }
  wake();
}

core::Status SrtBridge::add_listener(SRTSOCKET sock, std::function<void()> on_readable) {
  if (!running()) return core::Status::error("srt: the bridge is not running");
  // Waits until the bridge watches it, so nothing can connect before (libsrt
  // may not report a connection queued before the listener joined the epoll set).
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  {
    std::lock_guard<std::mutex> lk(cmd_mu_);
    cmds_.push_back({CmdKind::kAddListener, nullptr, {}, sock, std::move(on_readable)});
    // A removal of no socket as the fence: it runs once the add has.
    cmds_.push_back({CmdKind::kRemoveListener, nullptr, {}, SRT_INVALID_SOCK, [done] { done->set_value(); }});
  }
  wake();
  if (f.wait_for(std::chrono::seconds(3)) != std::future_status::ready)
    return core::Status::error("srt: the bridge did not take the listener within 3 s");
  return core::Status::ok();
}

void SrtBridge::remove_listener(SRTSOCKET sock) {
  if (!running()) return;
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  push({CmdKind::kRemoveListener, nullptr, {}, sock, [done] { done->set_value(); }});
  if (f.wait_for(std::chrono::seconds(3)) != std::future_status::ready)
    spdlog::warn("srt: the bridge did not drop listener {} within 3 s", int(sock));
}

void SrtBridge::connect(const SrtConnRef& c, const core::SocketAddress& to) {
  c->bridge = this;
  push({CmdKind::kConnect, c, to, SRT_INVALID_SOCK, nullptr});
}

void SrtBridge::request_close(const SrtConnRef& c) { push({CmdKind::kClose, c, {}, SRT_INVALID_SOCK, nullptr}); }

void SrtBridge::request_writable(const SrtConnRef& c) {
  push({CmdKind::kWatchWritable, c, {}, SRT_INVALID_SOCK, nullptr});
}

void SrtBridge::take_commands() {
  uint64_t v;
  while (wake_fd_ >= 0 && ::read(wake_fd_, &v, sizeof v) > 0) {
  }
  {
    std::lock_guard<std::mutex> lk(cmd_mu_);
    cmds_work_.swap(cmds_);
  }
  const bool quitting = quit_.load(std::memory_order_acquire);
  for (Cmd& cmd : cmds_work_) {
    switch (cmd.kind) {
      case CmdKind::kAddListener: {
        int ev = SRT_EPOLL_IN | SRT_EPOLL_ERR;
        if (srt_epoll_add_usock(eid_, cmd.listener, &ev) == SRT_ERROR)
          spdlog::error("srt: watching listener: srt_epoll_add_usock: {}", srt_last_error());
        else listeners_[cmd.listener] = std::move(cmd.hook);
        break;
      }
      case CmdKind::kRemoveListener:
        if (listeners_.erase(cmd.listener)) srt_epoll_remove_usock(eid_, cmd.listener);
        cmd.hook();
        break;
      case CmdKind::kConnect:
        if (quitting) cmd.conn->close_requested = true;
        start_connect(cmd.conn, cmd.to);
        break;
      case CmdKind::kClose: {
        cmd.conn->close_requested = true;
        auto it = conns_.find(cmd.conn->sock);
        if (it != conns_.end() && it->second == cmd.conn) {
          close_conn(cmd.conn);
        } else if (!cmd.conn->sock_closed && cmd.conn->sock != SRT_INVALID_SOCK && !cmd.conn->connecting &&
                   cmd.conn->events == 0) {
          // Created by a caller that failed before asking for the connect.
          srt_close(cmd.conn->sock);
          cmd.conn->sock_closed = true;
        }
        break;
      }
      case CmdKind::kWatchWritable: {
        auto it = conns_.find(cmd.conn->sock);
        if (it == conns_.end() || it->second != cmd.conn) break;  // closed already
        if (!cmd.conn->end_posted) set_events(cmd.conn, SRT_EPOLL_OUT | SRT_EPOLL_ERR);
        break;
      }
    }
  }
  cmds_work_.clear();
}

// Bridge thread --------------------------------------------------------------------

void SrtBridge::run() {
  std::vector<SRTSOCKET> rd(kEpollBatch), wr(kEpollBatch);
  SYSSOCKET lr[4];
  while (!quit_.load(std::memory_order_acquire)) {
    int rn = int(rd.size()), wn = int(wr.size()), lrn = 4;
    int n = srt_epoll_wait(eid_, rd.data(), &rn, wr.data(), &wn, kEpollTimeoutMs, lr, &lrn, nullptr, nullptr);
    take_commands();
    retry_ends();
    if (quit_.load(std::memory_order_acquire)) break;
    if (n < 0) {
      int err = srt_getlasterror(nullptr);
      if (err != SRT_ETIMEOUT) {
        spdlog::error("srt: epoll wait: {}", srt_last_error());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    for (int i = 0; i < rn; ++i) {
      const SRTSOCKET s = rd[size_t(i)];
      if (auto l = listeners_.find(s); l != listeners_.end()) {
        l->second();
        continue;
      }
      auto it = conns_.find(s);
      if (it != conns_.end()) on_event(SrtConnRef(it->second), true, false);
    }
    for (int i = 0; i < wn; ++i) {
      const SRTSOCKET s = wr[size_t(i)];
      if (listeners_.count(s)) continue;
      auto it = conns_.find(s);
      if (it != conns_.end()) on_event(SrtConnRef(it->second), false, true);
    }
  }
}

void SrtBridge::set_events(const SrtConnRef& c, int events) {
  if (events == c->events) return;
  if (events == 0) srt_epoll_remove_usock(eid_, c->sock);
  else if (c->events == 0) srt_epoll_add_usock(eid_, c->sock, &events);
  else srt_epoll_update_usock(eid_, c->sock, &events);
  c->events = events;
}

void SrtBridge::adopt(const SrtConnRef& c) {
  c->bridge = this;
  conns_[c->sock] = c;
  open_.fetch_add(1, std::memory_order_relaxed);
  set_events(c, c->receives ? (SRT_EPOLL_IN | SRT_EPOLL_ERR) : SRT_EPOLL_ERR);
}

void SrtBridge::start_connect(const SrtConnRef& c, const core::SocketAddress& to) {
  if (c->close_requested) {
    // The session gave up (or the bridge is stopping) before the bridge got to it.
    srt_close(c->sock);
    c->sock_closed = true;
    if (c->on_closed) c->on_closed();
    return;
  }
  conns_[c->sock] = c;
  open_.fetch_add(1, std::memory_order_relaxed);
  c->connecting = true;
  // Watched before srt_connect, so its completion (OUT) or failure (ERR) is seen.
  set_events(c, SRT_EPOLL_OUT | SRT_EPOLL_ERR);
  if (srt_connect(c->sock, to.sa(), int(to.len)) == SRT_ERROR) post_end(c, "connect: " + srt_last_error());
}

void SrtBridge::on_event(const SrtConnRef& c, bool readable, bool writable) {
  if (c->end_posted) return;
  SRT_SOCKSTATUS st = srt_getsockstate(c->sock);
  if (c->connecting) {
    if (st == SRTS_CONNECTED) {
      c->connecting = false;
      set_events(c, c->receives ? (SRT_EPOLL_IN | SRT_EPOLL_ERR) : SRT_EPOLL_ERR);
      // Refused (queue full): the session's own connect timeout fails it.
      c->loop->post([c] {
        if (c->session) c->session->on_connected();
      });
      return;
    }
    if (st == SRTS_CONNECTING) return;
    const int reason = srt_getrejectreason(c->sock);
    std::string why = fmt::format("connect failed: {}", srt_rejectreason_str(reason));
    if (reason >= SRT_REJC_PREDEFINED) why += fmt::format(" (reject code {})", reason);
    post_end(c, why);
    return;
  }
  if (c->receives && readable) {
    read_input(c);
    if (c->end_posted) return;
    st = srt_getsockstate(c->sock);
  }
  if (st == SRTS_BROKEN || st == SRTS_CLOSING || st == SRTS_CLOSED || st == SRTS_NONEXIST) {
    post_end(c, st == SRTS_BROKEN ? "connection closed by the peer or lost" : "connection closed");
    return;
  }
  if (writable && (c->events & SRT_EPOLL_OUT)) {
    // A refusal (the loop's queue is full) keeps watching for writability:
    // the next round tries again.
    if (c->loop->post([c] {
          if (c->session) c->session->on_writable();
        }))
      set_events(c, SRT_EPOLL_ERR | (c->receives ? SRT_EPOLL_IN : 0));
  }
}

void SrtBridge::read_input(const SrtConnRef& c) {
  thread_local std::vector<uint8_t> batch;
  batch.clear();
  std::string err;
  for (int i = 0; i < kMaxReadsPerRound; ++i) {
    size_t at = batch.size();
    batch.resize(at + kRecvSize);
    int n = srt_recvmsg(c->sock, reinterpret_cast<char*>(batch.data() + at), int(kRecvSize));
    if (n <= 0) {
      batch.resize(at);
      if (n == SRT_ERROR) {
        int e = srt_getlasterror(nullptr);
        if (e == SRT_ECONNLOST) err = "connection closed by the peer or lost";
        else if (e != SRT_EASYNCRCV) err = "srt recv: " + srt_last_error();
      }
      break;
    }
    batch.resize(at + size_t(n));
  }
  if (!batch.empty()) {
    bool post = false, dropped = false;
    size_t queued = 0;
    {
      std::lock_guard<std::mutex> lk(c->mu);
      queued = c->input.size();
      if (queued + batch.size() > SrtConn::kInputQueueCap) {
        dropped = true;
      } else {
        if (c->input.empty()) c->input.swap(batch);
        else c->input.insert(c->input.end(), batch.begin(), batch.end());
        if (!c->input_posted) post = c->input_posted = true;
      }
    }
    if (dropped) {
      c->dropped_batches.fetch_add(1, std::memory_order_relaxed);
      c->dropped_bytes.fetch_add(batch.size(), std::memory_order_relaxed);
      if (c->on_input_dropped) c->on_input_dropped();
      int64_t now = monotonic_ms();
      if (now - c->last_drop_log_ms >= 1000) {
        c->last_drop_log_ms = now;
        spdlog::warn("srt #{} {}: input queue full ({} bytes queued, cap {}): dropped a batch of {} bytes ({} batches "
                     "dropped so far)",
                     c->num, c->peer, queued, SrtConn::kInputQueueCap, batch.size(), c->dropped_batches.load());
      }
    }
    if (post) {
      bool ok = c->loop->post([c] {
        if (c->session) return c->session->on_input();
        std::lock_guard<std::mutex> lk(c->mu);
        c->input.clear();
        c->input_posted = false;
      });
      if (!ok) {
        std::lock_guard<std::mutex> lk(c->mu);
        c->input_posted = false;
      }
    }
  }
  if (!err.empty()) post_end(c, err);
}

void SrtBridge::post_end(const SrtConnRef& c, const std::string& why) {
  if (c->end_posted) return;
  c->end_posted = true;
  set_events(c, 0);
  // A loop that refuses (its queue is full) is asked again every bridge
  // round; a stopping loop's sessions are closed by their owners.
  if (!c->loop->post([c, why] {
        if (c->session) c->session->on_conn_end(why);
      }))
    ends_to_retry_.emplace_back(c, why);
}

void SrtBridge::retry_ends() {
  if (ends_to_retry_.empty() || quit_.load(std::memory_order_acquire)) return;
  std::vector<std::pair<SrtConnRef, std::string>> retry;
  retry.swap(ends_to_retry_);
  for (auto& item : retry) {
    SrtConnRef c = item.first;  // (clang 14 cannot capture structured bindings)
    std::string why = item.second;
    if (c->close_requested) continue;
    if (!c->loop->post([c, why] {
          if (c->session) c->session->on_conn_end(why);
        }))
      ends_to_retry_.emplace_back(std::move(c), std::move(why));
  }
}

void SrtBridge::close_conn(const SrtConnRef& c) {
  set_events(c, 0);
  srt_close(c->sock);
  c->sock_closed = true;
  conns_.erase(c->sock);
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (c->on_closed) c->on_closed();
}

// libsrt's log (its threads) --------------------------------------------------------

void SrtBridge::log_handler(void* opaque, int level, const char*, int, const char*, const char* message) {
  std::string_view m(message ? message : "");
  while (!m.empty() && (m.front() == ':' || m.front() == ' ')) m.remove_prefix(1);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.remove_suffix(1);
  auto* self = static_cast<SrtBridge*>(opaque);
  if (rejection_detail(m)) {
    if (self) {
      std::lock_guard<std::mutex> lk(self->hook_mu_);
      if (self->rejection_hook_) self->rejection_hook_(m);
    }
    spdlog::debug("libsrt: {}", m);
  } else if (level <= LOG_ERR) {
    spdlog::error("libsrt: {}", m);
  } else if (level == LOG_WARNING) {
    spdlog::warn("libsrt: {}", m);
  } else {
    spdlog::debug("libsrt: {}", m);
  }
}

}  // namespace weir::ingest::srt
