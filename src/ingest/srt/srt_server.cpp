#include "ingest/srt/srt_server.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <srt/access_control.h>
#include <srt/logging_api.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/tcp_conn.h"
#include "ingest/srt/srt_player.h"
#include "ingest/srt/srt_publisher.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"

namespace weir::ingest::srt {

namespace {

// The admitted-list ages (libsrt's threads have no uv loop).
int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string address_string(const sockaddr* sa) {
  if (!sa) return "?";
  core::SocketAddress a;
  a.len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&a.ss, sa, a.len);
  return a.to_string();
}

// Shown in logs: the stream id as the peer sent it, cut and without control
// bytes, signed-URL credentials (token, txSecret, hs) masked: a token in a
// log would play or publish until it expires.
std::string shown_id(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 128)) out += ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 128) out += "...";
  for (std::string_view key : {",token=", ",txSecret=", ",hs="}) {
    for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + 1)) {
      const size_t v = at + key.size();
      const size_t end = std::min(out.find(',', v), out.size());
      out.replace(v, end - v, "***");
    }
  }
  return out;
}

// SRT access-control reject reasons are 1000 + the HTTP status (libsrt's
// access_control.h: SRT_REJX_BAD_REQUEST 1400, SRT_REJX_UNAUTHORIZED 1401,
// SRT_REJX_FORBIDDEN 1403, SRT_REJX_NOTFOUND 1404, SRT_REJX_CONFLICT 1409,
// SRT_REJX_UNAVAILABLE 1503).
int reject_code(origin::Refusal r) { return 1000 + origin::http_status(r); }

}  // namespace

origin::AdmissionRequest admission_request(const protocol::SrtStreamId& id, const std::string& peer) {
  origin::AdmissionRequest req;
  req.direction = id.mode == protocol::SrtMode::kPublish ? origin::Direction::kPublish : origin::Direction::kPlay;
  req.protocol = origin::AccessProtocol::kSrt;
  req.app = id.app;
  req.stream = id.stream;
  req.client = peer;
  if (!id.user.empty()) req.params.emplace_back("u", id.user);
  if (!id.session.empty()) req.params.emplace_back("s", id.session);
  if (!id.host.empty()) req.params.emplace_back("h", id.host);
  for (const auto& kv : id.extra) {
    if (req.params.size() >= protocol::kMaxQueryParams) break;
    req.params.push_back(kv);
  }
  return req;
}

origin::ClientRegistry::Handle register_srt_client(const SrtConnRef& c, origin::ClientRole role,
                                                   origin::ClientRegistry::CloseFn close) {
  return c->server->origin().clients().add(*c->loop, {origin::AccessProtocol::kSrt, role, c->id.app, c->id.stream, c->peer},
                                           &c->io, std::move(close));
}

SrtServer::SrtServer(origin::Origin& origin, SrtBridge& bridge) : origin_(origin), bridge_(bridge) {}

SrtServer::~SrtServer() { stop(); }

core::Result<std::unique_ptr<SrtServer>> SrtServer::start(origin::Origin& origin, SrtBridge& bridge) {
  if (core::Status st = bridge.ensure_running(); !st) return st;
  std::unique_ptr<SrtServer> s(new SrtServer(origin, bridge));
  if (core::Status st = s->open(); !st) {
    s->stop();
    return st;
  }
  return s;
}

core::Status SrtServer::open() {
  const core::Config& cfg = origin_.startup_config();  // srt.* is read once, at start
  sessions_.resize(origin_.loops().size());
  auto addr = core::parse_listen_address(cfg.srt.listen);
  if (!addr) return core::Status::errorf("srt.listen: {}", addr.error());
  listener_ = srt_create_socket();
  if (listener_ == SRT_INVALID_SOCK) return core::Status::errorf("srt.listen: srt_create_socket: {}", srt_last_error());
  const int no = 0;
  srt_setsockflag(listener_, SRTO_RCVSYN, &no, sizeof no);
  srt_setsockflag(listener_, SRTO_SNDSYN, &no, sizeof no);
  // libsrt shares one UDP port between its own sockets of one process only;
  // a port held by another process fails here.
  if (srt_bind(listener_, addr->sa(), int(addr->len)) == SRT_ERROR)
    return core::Status::errorf("srt.listen: bind {}: {}", addr->to_string(), srt_last_error());
  if (srt_listen_callback(listener_, &SrtServer::listen_callback, this) == SRT_ERROR)
    return core::Status::errorf("srt.listen: srt_listen_callback: {}", srt_last_error());
  if (srt_listen(listener_, 1024) == SRT_ERROR)
    return core::Status::errorf("srt.listen: listen {}: {}", addr->to_string(), srt_last_error());
  bound_ = *addr;
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (srt_getsockname(listener_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    std::memcpy(&bound_.ss, &ss, size_t(len));
    bound_.len = socklen_t(len);
  }
  bridge_.set_rejection_hook([this](std::string_view m) { on_library_rejection(m); });
  if (core::Status st = bridge_.add_listener(listener_, [this] { accept_one(); }); !st) return st;
  watched_ = true;
  return core::Status::ok();
}

// Shutdown -------------------------------------------------------------------

void SrtServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (watched_) {
    // Sessions first, on their loops: after this no loop touches an SRT
    // socket of ours (the bridge closes each one its session retires).
    struct Pending {
      std::mutex mu;
      std::condition_variable cv;
      size_t left = 0;
    };
    auto pending = std::make_shared<Pending>();
    pending->left = origin_.loops().size();
    for (size_t i = 0; i < origin_.loops().size(); ++i) {
      auto done = [pending] {
        std::lock_guard<std::mutex> lk(pending->mu);
        if (--pending->left == 0) pending->cv.notify_all();
      };
      bool posted = origin_.loops().at(i).post([this, i, done] {
        std::vector<SrtSession*> open(sessions_[i].begin(), sessions_[i].end());
        for (SrtSession* s : open) s->close_for_shutdown();
        done();
      });
      if (!posted) done();
    }
    std::unique_lock<std::mutex> lk(pending->mu);
    if (!pending->cv.wait_for(lk, std::chrono::seconds(3), [&] { return pending->left == 0; }))
      spdlog::warn("srt: sessions of {} loop(s) did not close within 3 s", pending->left);
    lk.unlock();
    bridge_.remove_listener(listener_);
    bridge_.set_rejection_hook(nullptr);
    watched_ = false;
  }
  if (listener_ != SRT_INVALID_SOCK) srt_close(listener_);
  listener_ = SRT_INVALID_SOCK;
}

// Commands from the loops -------------------------------------------------------

void SrtServer::request_close(const SrtConnRef& c) { bridge_.request_close(c); }

void SrtServer::request_writable(const SrtConnRef& c) { bridge_.request_writable(c); }

void SrtServer::add_session(core::Loop& loop, SrtSession* s) { sessions_[size_t(loop.index())].insert(s); }
void SrtServer::remove_session(core::Loop& loop, SrtSession* s) { sessions_[size_t(loop.index())].erase(s); }

void SrtServer::retire_session(core::Loop& loop, SrtSession* s, const SrtConnRef& c) {
  c->session = nullptr;
  remove_session(loop, s);
  loop.untrack(s);
  request_close(c);
  if (!loop.post([s] { delete s; })) delete s;
}

// Bridge thread -------------------------------------------------------------------

void SrtServer::accept_one() {
  // One per readiness report: the listener stays ready while more are
  // pending, and a non-blocking srt_accept with nothing pending makes libsrt
  // log an error line of its own.
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (stopping_.load(std::memory_order_acquire)) return;
  SRTSOCKET s = srt_accept(listener_, reinterpret_cast<sockaddr*>(&ss), &len);
  if (s == SRT_INVALID_SOCK) {
    if (srt_getlasterror(nullptr) != SRT_EASYNCRCV) spdlog::warn("srt: accept: {}", srt_last_error());
    return;
  }
  on_accepted(s);
}

void SrtServer::on_accepted(SRTSOCKET s) {
  char sid[protocol::kSrtStreamIdMaxSize + 1];
  int sid_len = sizeof sid;
  std::string id_text;
  if (srt_getsockflag(s, SRTO_STREAMID, sid, &sid_len) == 0 && sid_len > 0)
    id_text.assign(sid, size_t(std::min<int>(sid_len, int(protocol::kSrtStreamIdMaxSize))));
  sockaddr_storage ss{};
  int len = sizeof ss;
  std::string peer =
      srt_getpeername(s, reinterpret_cast<sockaddr*>(&ss), &len) == 0 ? address_string(reinterpret_cast<sockaddr*>(&ss))
                                                                       : "?";
  // The admission checks still to run (0 if the entry went missing: the
  // whole chain then runs again on the loop).
  size_t admission_from = 0;
  {
    std::lock_guard<std::mutex> lk(admitted_mu_);
    if (auto it = admitted_.find(s); it != admitted_.end()) {
      admission_from = it->second.admission_from;
      admitted_.erase(it);
    }
  }
  auto id = protocol::parse_srt_streamid(id_text);
  if (!id || stopping_.load(std::memory_order_acquire)) {
    // Admission parsed the same id moments ago; this only happens at shutdown.
    spdlog::info("srt {}: closing accepted connection: {}", peer, id ? "server shutting down" : id.error());
    srt_close(s);
    return;
  }
  // The handshake checked the per-address cap; connections admitted at the
  // same time may have filled it since.
  std::optional<core::ConnectionsPerIp::Slot> slot = origin_.connections_per_ip().try_acquire(peer);
  if (!slot) {
    spdlog::info("srt {}: closing accepted connection: limits.max_connections_per_ip ({}) reached for its address",
                 peer, origin_.connections_per_ip().cap());
    srt_close(s);
    return;
  }
  auto c = std::make_shared<SrtConn>();
  c->ip_slot = std::move(*slot);
  c->server = this;
  c->sock = s;
  c->num = next_num_.fetch_add(1, std::memory_order_relaxed);
  c->peer = peer;
  c->id = std::move(*id);
  c->publisher = c->id.mode == protocol::SrtMode::kPublish;
  c->receives = c->publisher;
  c->admission_from = admission_from;
  c->loop = &origin_.loops().next();
  const int no = 0;
  srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof no);
  srt_setsockflag(s, SRTO_SNDSYN, &no, sizeof no);
  // Run by the bridge (its thread, or stop()) while `c` is alive.
  c->on_closed = [this, raw = c.get()] {
    raw->ip_slot.release();
    open_.fetch_sub(1, std::memory_order_relaxed);
    origin_.metrics().srt_connections_open--;
  };
  c->on_input_dropped = [this] { origin_.metrics().srt_input_dropped_total++; };
  open_.fetch_add(1, std::memory_order_relaxed);
  origin_.metrics().srt_connections_total++;
  origin_.metrics().srt_connections_open++;
  int latency = 0, lsize = sizeof latency;
  srt_getsockflag(s, SRTO_RCVLATENCY, &latency, &lsize);
  spdlog::debug("srt #{} {}: accepted '{}' ({} {}/{}, latency {} ms, loop {})", c->num, peer, shown_id(id_text),
                c->publisher ? "publish" : "play", c->id.app, c->id.stream, latency, c->loop->index());
  bridge_.adopt(c);
  bool posted = c->loop->post([c] {
    if (c->server->stopping_.load(std::memory_order_acquire)) return c->server->request_close(c);
    if (c->publisher) SrtPublisher::start(c);
    else SrtPlayer::start(c);
  });
  if (!posted) {
    spdlog::warn("srt #{} {}: loop {} refused the connection (task queue full or stopping)", c->num, peer,
                 c->loop->index());
    bridge_.request_close(c);
  }
}

// libsrt's refusals (its threads) --------------------------------------------------

void SrtServer::on_library_rejection(std::string_view m) {
  // "@611339431:newConnection: connection rejected due to: INTERNAL REJECTION - ERROR:BADSECRET"
  static constexpr std::string_view kMarker = "connection rejected due to:";
  size_t at = m.find(kMarker);
  if (at == std::string_view::npos || m.empty() || m.front() != '@') return;
  SRTSOCKET sock = SRTSOCKET(std::strtol(std::string(m.substr(1, 16)).c_str(), nullptr, 10));
  std::string_view what = m.substr(at + kMarker.size());
  if (size_t e = what.rfind("ERROR:"); e != std::string_view::npos) what = what.substr(e + 6);
  while (!what.empty() && what.front() == ' ') what.remove_prefix(1);
  if (what.starts_with("PREDEFINED") || what.starts_with("USERDEFINED")) return;  // our own refusal, logged already
  Admitted a;
  {
    std::lock_guard<std::mutex> lk(admitted_mu_);
    auto it = admitted_.find(sock);
    if (it == admitted_.end()) return;
    a = std::move(it->second);
    admitted_.erase(it);
  }
  std::string why = what == "BADSECRET" ? "wrong passphrase"
                    : what == "UNSECURE" ? "passphrase required or unexpected (encryption mismatch)"
                                         : "refused by libsrt";
  origin_.metrics().srt_rejected_total++;
  spdlog::info("srt {}: refused '{}': {} (libsrt {})", a.peer, shown_id(a.streamid), why, what);
}

// Admission (libsrt's thread, during the handshake) ---------------------------------

int SrtServer::listen_callback(void* opaque, SRTSOCKET ns, int, const struct sockaddr* peer, const char* streamid) {
  return static_cast<SrtServer*>(opaque)->admit(ns, peer, streamid);
}

int SrtServer::admit(SRTSOCKET ns, const struct sockaddr* peer_addr, const char* streamid) {
  const std::string peer = address_string(peer_addr);
  const std::string_view sid = streamid ? std::string_view(streamid) : std::string_view();
  bool publish = false;  // known once the stream id parsed
  auto refuse = [&](int code, const std::string& why) {
    srt_setrejectreason(ns, code);
    origin_.metrics().srt_rejected_total++;
    if (publish) origin_.metrics().publish_refused_total++;
    spdlog::info("srt {}: refused '{}': {} (reject code {})", peer, shown_id(sid), why, code);
    return -1;
  };
  if (stopping_.load(std::memory_order_acquire)) return refuse(SRT_REJX_DOWN, "server shutting down");
  if (draining_.load(std::memory_order_acquire)) return refuse(SRT_REJX_DOWN, "server draining");
  // SRT's thread, not a loop: hold the generation (a reload may retire it).
  const std::shared_ptr<const core::Config> generation = origin_.config_ptr();
  const core::Config& cfg = *generation;
  if (cfg.limits.max_connections > 0 &&
      open_.load(std::memory_order_relaxed) + core::TcpConn::open_accepted() >= size_t(cfg.limits.max_connections))
    return refuse(SRT_REJX_OVERLOAD, fmt::format("limits.max_connections ({}) reached", cfg.limits.max_connections));
  if (origin_.connections_per_ip().at_cap(peer)) {
    origin_.connections_per_ip().count_refusal();
    return refuse(SRT_REJX_OVERLOAD,
                  fmt::format("limits.max_connections_per_ip ({}) reached for its address", cfg.limits.max_connections_per_ip));
  }

  protocol::SrtStreamIdError kind = protocol::SrtStreamIdError::kNone;
  auto id = protocol::parse_srt_streamid(sid, &kind);
  if (!id) {
    int code = kind == protocol::SrtStreamIdError::kBadMode           ? SRT_REJX_BAD_MODE
               : kind == protocol::SrtStreamIdError::kUnsupportedType ? SRT_REJX_NOTSUP_MEDIA
                                                                      : SRT_REJX_BAD_REQUEST;
    return refuse(code, id.error());
  }
  publish = id->mode == protocol::SrtMode::kPublish;
  // Admission's synchronous checks decide here, in the handshake, so a refusal
  // reaches the caller as a reject reason; checks that answer later run on the
  // session's loop after the accept (SrtConn::admission_from).
  origin::Admission::Partial admitted = origin_.admission().check_now(admission_request(*id, peer));
  if (!admitted.decision.allowed())
    return refuse(reject_code(admitted.decision.refusal), admitted.decision.reason);
  const core::AppConfig* app = cfg.find_app(id->app);
  if (!publish && !origin_.registry().find(id->app, id->stream) && app->play_wait_ms <= 0 &&
      origin_.sources().serves(*app, id->stream) <= 0)
    return refuse(SRT_REJX_NOTFOUND, fmt::format("stream {}/{} is not published", id->app, id->stream));

  // The app's SRT settings, on the socket being accepted (before the
  // handshake answer is built, so latency and encryption are negotiated).
  const core::AppSrtConfig& o = app->srt;
  std::string failed;
  auto set_int = [&](SRT_SOCKOPT opt, const char* name, int v) {
    if (failed.empty() && srt_setsockflag(ns, opt, &v, sizeof v) == SRT_ERROR)
      failed = fmt::format("{}={}: {}", name, v, srt_last_error());
  };
  auto set_i64 = [&](SRT_SOCKOPT opt, const char* name, int64_t v) {
    if (failed.empty() && srt_setsockflag(ns, opt, &v, sizeof v) == SRT_ERROR)
      failed = fmt::format("{}={}: {}", name, v, srt_last_error());
  };
  set_int(SRTO_RCVLATENCY, "SRTO_RCVLATENCY", int(o.latency_ms));
  set_int(SRTO_PEERLATENCY, "SRTO_PEERLATENCY", int(o.peer_latency_ms));
  set_int(SRTO_PAYLOADSIZE, "SRTO_PAYLOADSIZE", int(o.payload_size));
  if (!o.passphrase.empty()) {
    const int len = int(o.passphrase.size());
    if (failed.empty() && srt_setsockflag(ns, SRTO_PASSPHRASE, o.passphrase.data(), len) == SRT_ERROR)
      failed = fmt::format("SRTO_PASSPHRASE ({} characters): {}", o.passphrase.size(), srt_last_error());
    if (o.pbkeylen > 0) set_int(SRTO_PBKEYLEN, "SRTO_PBKEYLEN", int(o.pbkeylen));
  }
  if (!publish) {
    if (o.max_bw > 0) {
      set_i64(SRTO_MAXBW, "SRTO_MAXBW", o.max_bw);
    } else {
      set_i64(SRTO_MAXBW, "SRTO_MAXBW", 0);
      set_i64(SRTO_INPUTBW, "SRTO_INPUTBW", 0);
      set_int(SRTO_OHEADBW, "SRTO_OHEADBW", int(o.overhead_pct));
    }
  }
  if (!failed.empty()) return refuse(SRT_REJX_ISE, "apps." + id->app + ".srt: " + failed);
  spdlog::debug("srt {}: admitted '{}' ({} {}/{})", peer, shown_id(sid), publish ? "publish" : "play", id->app,
                id->stream);
  {
    // Remembered until accepted, for naming the peer if libsrt refuses it
    // after us (wrong passphrase). Bounded: entries older than 10 s go.
    std::lock_guard<std::mutex> lk(admitted_mu_);
    const int64_t now = monotonic_ms();
    if (admitted_.size() >= 1024)
      std::erase_if(admitted_, [now](const auto& kv) { return now - kv.second.at_ms > 10000; });
    if (admitted_.size() < 4096) admitted_[ns] = Admitted{peer, std::string(sid), now, admitted.next};
  }
  return 0;
}

}  // namespace weir::ingest::srt
