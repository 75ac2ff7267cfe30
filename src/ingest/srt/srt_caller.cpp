#include "ingest/srt/srt_caller.h"

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include <spdlog/spdlog.h>

#include "ingest/srt/srt_bridge.h"

namespace weir::ingest::srt {

namespace {
std::atomic<uint64_t> g_caller_num{1};
constexpr uint64_t kStallCheckMs = 250;
}  // namespace

SrtCaller::SrtCaller(core::Loop& loop, SrtBridge& bridge, Handler& handler, SrtCallerOptions options)
    : loop_(loop),
      bridge_(bridge),
      handler_(handler),
      opts_(options),
      resolver_(loop),
      connect_timer_(loop),
      stall_timer_(loop) {}

SrtCaller::~SrtCaller() { detach(); }

core::Status SrtCaller::start(const core::SrtUrl& url) {
  if (started_) return core::Status::error("srt caller: started twice");
  started_ = true;
  if (core::Status st = bridge_.ensure_running(); !st) return st;
  url_ = url;
  conn_ = std::make_shared<SrtConn>();
  conn_->bridge = &bridge_;
  conn_->loop = &loop_;
  conn_->num = g_caller_num.fetch_add(1, std::memory_order_relaxed);
  conn_->peer = url.authority();
  conn_->receives = opts_.receive;
  conn_->session = this;
  // libsrt's own SRTO_CONNTIMEO ends the attempt first; this covers the
  // resolver and a refused post.
  connect_timer_.start(opts_.connect_timeout_ms + 1000, [this] {
    fail(fmt::format("connect timeout ({} ms)", opts_.connect_timeout_ms));
  });
  if (auto lit = core::literal_addresses(url.host, url.port)) {
    if (lit->empty()) return core::Status::errorf("srt: no address for {}", url.host);
    const core::SocketAddress to = lit->front();
    // Reported from a task, never inside start().
    std::weak_ptr<char> life = alive_;
    if (!loop_.post([this, life, to] {
          if (!life.expired() && !closed_) connect_to(to);
        }))
      return core::Status::error("srt: the loop is stopping");
    return core::Status::ok();
  }
  resolver_.resolve(url.host, url.port, [this](core::Result<core::Resolver::Addresses> r) {
    if (!r) return fail(r.error());
    if (r->empty()) return fail("no address for " + url_.host);
    connect_to(r->front());
  });
  return core::Status::ok();
}

void SrtCaller::connect_to(const core::SocketAddress& to) {
  SRTSOCKET s = srt_create_socket();
  if (s == SRT_INVALID_SOCK) return fail("srt_create_socket: " + srt_last_error());
  conn_->sock = s;
  std::string failed;
  auto set_int = [&](SRT_SOCKOPT opt, const char* name, int v) {
    if (failed.empty() && srt_setsockflag(s, opt, &v, sizeof v) == SRT_ERROR)
      failed = fmt::format("{}={}: {}", name, v, srt_last_error());
  };
  set_int(SRTO_RCVSYN, "SRTO_RCVSYN", 0);
  set_int(SRTO_SNDSYN, "SRTO_SNDSYN", 0);
  set_int(SRTO_CONNTIMEO, "SRTO_CONNTIMEO", int(std::min<uint64_t>(opts_.connect_timeout_ms, 120000)));
  set_int(SRTO_PAYLOADSIZE, "SRTO_PAYLOADSIZE", int(opts_.payload_size));
  if (url_.latency_ms >= 0) set_int(SRTO_LATENCY, "SRTO_LATENCY", url_.latency_ms);
  if (!url_.streamid.empty() && failed.empty() &&
      srt_setsockflag(s, SRTO_STREAMID, url_.streamid.data(), int(url_.streamid.size())) == SRT_ERROR)
    failed = "SRTO_STREAMID: " + srt_last_error();
  if (!url_.passphrase.empty()) {
    if (failed.empty() &&
        srt_setsockflag(s, SRTO_PASSPHRASE, url_.passphrase.data(), int(url_.passphrase.size())) == SRT_ERROR)
      failed = "SRTO_PASSPHRASE: " + srt_last_error();
    if (url_.pbkeylen > 0) set_int(SRTO_PBKEYLEN, "SRTO_PBKEYLEN", url_.pbkeylen);
  }
  if (!failed.empty()) return fail(failed);  // the bridge closes the socket (never watched)
  bridge_.connect(conn_, to);
}

void SrtCaller::on_connected() {
  if (closed_) return;
  connected_ = true;
  connect_timer_.stop();
  last_rx_ms_ = int64_t(uv_now(loop_.uv()));
  if (opts_.receive && opts_.stall_timeout_ms > 0)
    stall_timer_.start(kStallCheckMs, [this] {
      const int64_t idle = int64_t(uv_now(loop_.uv())) - last_rx_ms_;
      if (idle >= int64_t(opts_.stall_timeout_ms)) fail(fmt::format("no data for {} ms (stall)", idle));
    }, kStallCheckMs);
  handler_.on_srt_connected();
}

void SrtCaller::on_input() {
  {
    std::lock_guard<std::mutex> lk(conn_->mu);
    conn_->input_posted = false;
    work_.clear();
    work_.swap(conn_->input);
  }
  if (closed_ || !connected_ || work_.empty()) return;
  bytes_in_ += work_.size();
  conn_->io.add_in(work_.size());
  last_rx_ms_ = int64_t(uv_now(loop_.uv()));
  // The bytes live on this frame: the handler may free us while it reads them.
  std::vector<uint8_t> data;
  data.swap(work_);
  std::weak_ptr<char> life = alive_;
  handler_.on_srt_data(core::ByteView(data.data(), data.size()));
  if (!life.expired() && work_.empty()) work_.swap(data);  // keep the capacity
}

bool SrtCaller::send(core::ByteView bytes) {
  if (closed_ || !connected_) return false;
  if (queued_bytes() + bytes.size() > opts_.max_queued_bytes) return false;
  if (pending_off_ > 0 && pending_off_ >= pending_.size() / 2) {
    pending_.erase(pending_.begin(), pending_.begin() + std::ptrdiff_t(pending_off_));
    pending_off_ = 0;
  }
  pending_.insert(pending_.end(), bytes.data(), bytes.data() + bytes.size());
  pump(false);
  return true;
}

void SrtCaller::flush() {
  if (closed_ || !connected_) return;
  pump(true);
}

void SrtCaller::on_writable() {
  if (closed_) return;
  blocked_ = false;
  pump(true);
}

void SrtCaller::pump(bool partial) {
  while (!blocked_ && !closed_) {
    const size_t left = pending_.size() - pending_off_;
    if (left == 0 || (left < opts_.payload_size && !partial)) break;
    const size_t n = std::min(left, opts_.payload_size);
    int rc = srt_sendmsg(conn_->sock, reinterpret_cast<const char*>(pending_.data() + pending_off_), int(n), -1, 0);
    if (rc == SRT_ERROR) {
      if (srt_getlasterror(nullptr) == SRT_EASYNCSND) {
        blocked_ = true;
        bridge_.request_writable(conn_);
        break;
      }
      fail_later("srt send: " + srt_last_error());
      break;
    }
    pending_off_ += n;
    bytes_out_ += n;
    conn_->io.add_out(n);
  }
  if (pending_off_ == pending_.size()) {
    pending_.clear();
    pending_off_ = 0;
  }
  sample();
}

void SrtCaller::sample() {
  size_t bytes = 0;
  if (conn_ && conn_->sock != SRT_INVALID_SOCK && srt_getsndbuffer(conn_->sock, nullptr, &bytes) >= 0)
    snd_buffer_ = int64_t(bytes);
}

void SrtCaller::fail_later(std::string why) {
  if (closed_) return;
  std::weak_ptr<char> life = alive_;
  if (!loop_.post([this, life, why = std::move(why)] {
        if (!life.expired()) fail(why);
      }))
    detach();
}

void SrtCaller::detach() {
  connect_timer_.stop();
  stall_timer_.stop();
  resolver_.cancel();
  if (conn_) {
    conn_->session = nullptr;
    if (conn_->sock != SRT_INVALID_SOCK) bridge_.request_close(conn_);
    conn_.reset();
  }
}

void SrtCaller::fail(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  detach();
  handler_.on_srt_closed(why);  // may free us: nothing after
}

}  // namespace weir::ingest::srt
