#include "server/listener_set.h"

#include <unistd.h>

#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ingest/rtmp/rtmp_server.h"
#include "origin/http/http_server.h"
#include "origin/origin.h"

namespace weir::server {

namespace {

constexpr int kBacklog = 1024;
constexpr int64_t kApplyWaitMs = 5000;

// Binds `text` once without SO_REUSEPORT (so a port another process holds,
// even one sharing it with SO_REUSEPORT, fails with "address in use") and
// resolves port 0; the loops' sockets then share the resolved port.
core::Result<core::SocketAddress> probe(const std::string& key, const std::string& text) {
  auto addr = core::parse_listen_address(text);
  if (!addr) return core::Status::errorf("{}.listen: {}", key, addr.error());
  core::SocketAddress a = *addr;
  int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, a.sa(), a.len) != 0) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    return core::Status::errorf("{}.listen: bind {}: {}", key, a.to_string(), std::strerror(e));
  }
  if (auto bound = core::local_address_of(fd)) a = *bound;
  ::close(fd);
  return a;
}

core::Result<std::vector<int>> open_fds(const std::string& key, const core::SocketAddress& a, size_t count) {
  std::vector<int> fds;
  for (size_t i = 0; i < count; ++i) {
    auto fd = core::open_tcp_listener(a, kBacklog);
    if (!fd) {
      for (int f : fds) ::close(f);
      return core::Status::errorf("{}.listen: {}", key, fd.error());
    }
    fds.push_back(*fd);
  }
  return fds;
}

}  // namespace

const char* ListenerSet::key_of(Kind k) {
  static const char* const kKeys[kKinds] = {"rtmp", "rtmps", "http", "https", "api"};
  return kKeys[k];
}

ListenerSet::Plan::~Plan() {
  for (auto& p : pending_)
    for (int fd : p.fds)
      if (fd >= 0) ::close(fd);
}

std::vector<std::string> ListenerSet::Plan::changing() const {
  std::vector<std::string> out;
  for (int k = 0; k < kKinds; ++k)
    if (pending_[size_t(k)].active) out.push_back(key_of(Kind(k)));
  return out;
}

void ListenerSet::Server::stop_accepting() {
  if (rtmp) rtmp->stop_accepting();
  if (http) http->stop_accepting();
}

ListenerSet::ListenerSet(core::LoopGroup& loops, origin::Origin& origin,
                         std::shared_ptr<const origin::http::Router> media,
                         std::shared_ptr<const origin::http::Router> admin)
    : loops_(loops), origin_(origin), media_(std::move(media)), admin_(std::move(admin)), servers_(loops.size()) {}

ListenerSet::~ListenerSet() = default;

std::string ListenerSet::listen_of(const core::Config& c, Kind k) {
  switch (k) {
    case kRtmp: return c.rtmp.listen;
    case kRtmps: return c.rtmps.listen;
    case kHttp: return c.http.listen;
    case kHttps: return c.https.listen;
    case kApi: return c.api.listen;
    case kKinds: break;
  }
  return {};
}

// Everything a running server took at its start: a change restarts it.
std::string ListenerSet::signature_of(const core::Config& c, Kind k) {
  const std::string listen = listen_of(c, k);
  if (listen.empty()) return {};
  std::string s = fmt::format("{}|{}", listen, c.limits.max_connections);
  if (k == kHttp || k == kHttps || k == kApi)
    s += fmt::format("|{}|{}", c.http.request_timeout_ms, uint64_t(c.http.max_header_size));
  if (k == kHttp || k == kHttps) s += "|" + c.http.cors_origin;
  if (k == kApi) s += c.api.tls ? "|tls" : "|plain";
  return s;
}

bool ListenerSet::uses_tls(const core::Config& c) {
  return !c.rtmps.listen.empty() || !c.https.listen.empty() || c.api.tls;
}

core::Status ListenerSet::open(std::shared_ptr<const core::Config> cfg) {
  auto plan = prepare(std::move(cfg));
  if (!plan) return plan.status();
  first_ = std::move(*plan);
  if (first_.tls_) install_tls(first_.tls_);
  return core::Status::ok();
}

core::Result<ListenerSet::Plan> ListenerSet::prepare(std::shared_ptr<const core::Config> next) {
  Plan plan;
  const core::Config& c = *next;
  plan.config_ = std::move(next);
  // The certificate is read again on every reload (a renewed file under the
  // same name is the usual case), and must load before anything changes.
  if (uses_tls(c)) {
    auto t = core::TlsContext::server({c.tls.cert_file, c.tls.key_file});
    if (!t) return core::Status::errorf("tls: {}", t.error());
    plan.tls_ = *t;
  }
  for (int ki = 0; ki < kKinds; ++ki) {
    const Kind k = Kind(ki);
    Plan::Pending& p = plan.pending_[size_t(k)];
    p.signature = signature_of(c, k);
    if (p.signature == signature_[k]) continue;
    p.active = true;
    const std::string listen = listen_of(c, k);
    if (listen.empty()) {
      p.off = true;
      continue;
    }
    // Same address as now: new sockets join the running ones' port.
    core::Result<core::SocketAddress> addr = core::Status::error("");
    if (!bound_[k].empty() && listen == listen_of(origin_.config(), k))
      addr = core::parse_listen_address(bound_[k]);
    else
      addr = probe(key_of(k), listen);
    if (!addr) return addr.status();
    auto fds = open_fds(key_of(k), *addr, loops_.size());
    if (!fds) return fds.status();
    p.addr = *addr;
    p.fds = std::move(*fds);
  }
  return plan;
}

void ListenerSet::install_tls(std::shared_ptr<const core::TlsContext> ctx) {
  if (tls_) tls_->set(std::move(ctx));
  else tls_ = std::make_shared<core::TlsSlot>(std::move(ctx));
}

core::Result<ListenerSet::Server> ListenerSet::start_one(core::Loop& loop, Kind k, int fd, const core::Config& cfg) {
  core::Status err;
  Server s;
  const int max_conns = int(cfg.limits.max_connections);
  auto* per_ip = &origin_.connections_per_ip();  // players' and encoders' listeners; the admin API is exempt
  switch (k) {
    case kRtmp:
    case kRtmps:
      s.rtmp = ingest::rtmp::RtmpServer::start(loop, fd, origin_, err, k == kRtmps ? tls_ : nullptr);
      break;
    case kHttp:
    case kHttps:
      s.http = origin::http::HttpServer::start(loop, fd, cfg.http, media_, max_conns, err, k == kHttps ? tls_ : nullptr,
                                               per_ip);
      break;
    case kApi: {
      core::HttpConfig api_http = cfg.http;
      api_http.cors_origin.clear();  // the admin API is not for browsers of other origins
      s.http = origin::http::HttpServer::start(loop, fd, api_http, admin_, max_conns, err,
                                               cfg.api.tls ? tls_ : nullptr);
      break;
    }
    case kKinds: break;
  }
  if (!s) return err;
  return s;
}

core::Status ListenerSet::start_on(core::Loop& loop) {
  const size_t i = size_t(loop.index());
  for (int ki = 0; ki < kKinds; ++ki) {
    Plan::Pending& p = first_.pending_[size_t(ki)];
    if (!p.active || p.off) continue;
    const int fd = std::exchange(p.fds[i], -1);
    auto s = start_one(loop, Kind(ki), fd, *first_.config_);
    if (!s) return s.status();
    servers_[i][size_t(ki)] = *s;
    if (i == 0) {
      bound_[size_t(ki)] = (s->rtmp ? s->rtmp->bound() : s->http->bound()).to_string();
      signature_[size_t(ki)] = p.signature;
    }
  }
  if (i == 0) api_tls_ = first_.config_->api.tls;
  return core::Status::ok();
}

std::vector<std::string> ListenerSet::apply(Plan plan) {
  if (plan.tls_) install_tls(plan.tls_);
  const auto changing = plan.changing();
  std::vector<std::string> errors;
  if (changing.empty()) return errors;
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
    std::vector<std::string> errors;
  };
  auto shared = std::make_shared<Shared>();
  auto cfg = plan.config_;
  size_t posted = 0;
  for (size_t i = 0; i < loops_.size(); ++i) {
    std::array<int, kKinds> fds;
    for (int ki = 0; ki < kKinds; ++ki) {
      auto& p = plan.pending_[size_t(ki)];
      fds[size_t(ki)] = p.active && !p.off ? std::exchange(p.fds[i], -1) : -1;
    }
    std::array<bool, kKinds> active;
    for (int ki = 0; ki < kKinds; ++ki) active[size_t(ki)] = plan.pending_[size_t(ki)].active;
    const bool ok = loops_.at(i).post([this, i, fds, active, cfg, shared] {
      std::vector<std::string> errs;
      for (int ki = 0; ki < kKinds; ++ki) {
        if (!active[size_t(ki)]) continue;
        Server& running = servers_[i][size_t(ki)];
        if (fds[size_t(ki)] < 0) {  // the listener is turned off
          running.stop_accepting();
          running = Server{};
          continue;
        }
        auto s = start_one(loops_.at(i), Kind(ki), fds[size_t(ki)], *cfg);
        if (!s) {
          errs.push_back(fmt::format("loop {}: {}: {}", i, key_of(Kind(ki)), s.error()));
          continue;  // the old server (if any) keeps accepting
        }
        running.stop_accepting();
        running = *s;
      }
      std::lock_guard<std::mutex> lk(shared->mu);
      for (auto& e : errs) shared->errors.push_back(std::move(e));
      ++shared->done;
      shared->cv.notify_all();
    });
    if (ok) {
      ++posted;
    } else {
      for (int fd : fds)
        if (fd >= 0) ::close(fd);
      errors.push_back(fmt::format("loop {} refused the task (its queue is full): it keeps its old listeners", i));
    }
  }
  {
    std::unique_lock<std::mutex> lk(shared->mu);
    if (!shared->cv.wait_for(lk, std::chrono::milliseconds(kApplyWaitMs), [&] { return shared->done == posted; }))
      errors.push_back(fmt::format("{} of {} loops did not answer within {} ms", posted - shared->done, posted,
                                   kApplyWaitMs));
    for (auto& e : shared->errors) errors.push_back(e);
  }
  for (int ki = 0; ki < kKinds; ++ki) {
    const auto& p = plan.pending_[size_t(ki)];
    if (!p.active) continue;
    signature_[size_t(ki)] = p.signature;
    bound_[size_t(ki)] = p.off ? std::string() : p.addr.to_string();
  }
  api_tls_ = cfg->api.tls;
  return errors;
}

void ListenerSet::stop_accepting() {
  for (size_t i = 0; i < loops_.size(); ++i) {
    if (!loops_.at(i).post([this, i] {
          for (int k = 0; k < kKinds; ++k)
            if (k != kApi) servers_[i][size_t(k)].stop_accepting();
        }))
      spdlog::warn("shutdown: loop {} refused the task that stops accepting", i);
  }
}

}  // namespace weir::server
