#include "edge/forward_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "edge/forward_target.h"
#include "edge/forward_url.h"
#include "edge/origin_health.h"
#include "edge/upstream_url.h"
#include "edge/via.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::edge {

const char* to_string(ForwardState s) {
  switch (s) {
    case ForwardState::kConnecting: return "connecting";
    case ForwardState::kForwarding: return "forwarding";
    case ForwardState::kBackoff: return "backoff";
  }
  return "?";
}

const char* to_string(ForwardSource s) {
  switch (s) {
    case ForwardSource::kConfig: return "config";
    case ForwardSource::kApi: return "api";
    case ForwardSource::kUpstream: return "upstream";
  }
  return "?";
}

ForwardService::ForwardService(origin::Origin& origin, std::shared_ptr<const core::TlsContext> tls, std::string node_id,
                               OriginHealth& health)
    : origin_(origin), tls_(std::move(tls)), node_id_(std::move(node_id)), health_(health) {}

ForwardService::~ForwardService() = default;

std::string ForwardService::chain_for(const protocol::QueryParams* params) const {
  // LoopCheck admitted the publisher's chain (well-formed, without this node).
  const std::string* via = params ? protocol::find_query_param(*params, kViaParam) : nullptr;
  return via_with(via ? *via : std::string(), node_id_);
}

ForwardDestination ForwardService::destination(const std::string& url, const std::string& stream,
                                               const std::string& chain, bool send_via) const {
  ForwardDestination d;
  d.shown = redact_forward_url(url, stream);
  d.url = send_via ? url_with_via(url, chain) : url;
  return d;
}

void ForwardService::on_stream_published(const std::shared_ptr<origin::StreamHub>& hub, const origin::PublishEvent& e) {
  if (!core::Loop::current()) return;
  const std::string chain = chain_for(e.params);
  {
    std::lock_guard<std::mutex> lk(mu_);
    chains_[hub->key()] = chain;
  }
  const core::ForwardConfig& cfg = hub->app_config().forward;
  for (const std::string& tmpl : cfg.urls) {
    auto url = forward_destination(tmpl, hub->app(), hub->name());
    if (!url) {
      spdlog::warn("forward {}: destination {} skipped: {}", hub->key(), redact_forward_url(tmpl, hub->name()),
                   url.error());
      continue;
    }
    ForwardRoute route;
    route.candidates.push_back(destination(*url, hub->name(), chain, cfg.send_via));
    auto r = start(hub, std::move(route), cfg, ForwardSource::kConfig);
    if (!r) spdlog::warn("forward {}: {}", hub->key(), r.error());
  }
  start_upstream(hub, e);
}

void ForwardService::on_stream_resumed(const std::shared_ptr<origin::StreamHub>& hub, const origin::PublishEvent& e) {
  if (!e.takeover || e.protocol == "edge" || !core::Loop::current()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [id, f] : entries_)
      if (f->source == ForwardSource::kUpstream && f->app == hub->app() && f->stream == hub->name()) return;
    chains_[hub->key()] = chain_for(e.params);
  }
  start_upstream(hub, e);
}

void ForwardService::on_stream_ended(const std::shared_ptr<origin::StreamHub>& hub, const std::string&) {
  std::lock_guard<std::mutex> lk(mu_);
  chains_.erase(hub->key());
}

void ForwardService::start_upstream(const std::shared_ptr<origin::StreamHub>& hub, const origin::PublishEvent& e) {
  const core::AppConfig& app = hub->app_config();
  const core::UpstreamConfig& up = app.upstream;
  // Only an encoder's publish on an edge app: a stream the edge pulls is not pushed back.
  if (up.publish != "forward" || up.urls.empty() || e.protocol == "edge") return;
  const std::string chain = chain_for(e.params);
  ForwardRoute route;
  route.health = &health_;
  route.policy = parse_upstream_policy(up.policy);
  route.ticket = tickets_.fetch_add(1, std::memory_order_relaxed);
  route.stall_timeout_ms = uint64_t(up.stall_timeout_ms);
  for (const std::string& tmpl : up.urls) {
    if (tmpl.rfind("rtmp://", 0) != 0 && tmpl.rfind("rtmps://", 0) != 0) continue;  // http://: play only
    auto t = expand_upstream_url(tmpl, hub->app(), hub->name(), up.token);
    if (!t) {
      spdlog::warn("edge {}: origin {} skipped for the publish: {}", hub->key(), tmpl, t.error());
      continue;
    }
    ForwardDestination d;
    d.shown = tmpl;  // the template: the token is not shown (as /api/v1/upstreams)
    d.url = url_with_via(t->url, chain);
    d.origin = tmpl;
    route.candidates.push_back(std::move(d));
  }
  if (route.candidates.empty()) {
    // The config check refuses this; a template that does not expand lands here.
    spdlog::error("edge {}: published here but no rtmp:// or rtmps:// origin in apps.{}.upstream.urls can take it; "
                  "it plays on this node only",
                  hub->key(), app.name);
    return;
  }
  core::ForwardConfig cfg = app.forward;
  cfg.connect_timeout_ms = up.connect_timeout_ms;
  cfg.backoff_ms = up.backoff_ms;
  cfg.backoff_max_ms = up.backoff_max_ms;
  auto r = start(hub, std::move(route), cfg, ForwardSource::kUpstream);
  if (!r) spdlog::warn("edge {}: publish to the origins: {}", hub->key(), r.error());
}

core::Result<ForwardInfo> ForwardService::add(const std::string& app, const std::string& stream,
                                              const std::string& url) {
  auto dest = forward_destination(url, app, stream);
  if (!dest) return core::Status::errorf("bad_url: {}", dest.error());
  auto hub = origin_.registry().find(app, stream);
  if (!hub || hub->state() == origin::StreamHub::State::kEnded || !core::Loop::current())
    return core::Status::errorf("not_found: no live stream {}/{}", app, stream);
  std::string chain;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = chains_.find(hub->key());
    chain = it != chains_.end() ? it->second : node_id_;
  }
  const core::ForwardConfig& cfg = hub->app_config().forward;
  ForwardRoute route;
  route.candidates.push_back(destination(*dest, stream, chain, cfg.send_via));
  return start(hub, std::move(route), cfg, ForwardSource::kApi);
}

core::Result<ForwardInfo> ForwardService::start(const std::shared_ptr<origin::StreamHub>& hub, ForwardRoute route,
                                                const core::ForwardConfig& cfg, ForwardSource source) {
  core::Loop* loop = core::Loop::current();
  auto e = std::make_shared<ForwardEntry>();
  e->id = forward_id(next_id_.fetch_add(1, std::memory_order_relaxed));
  e->app = hub->app();
  e->stream = hub->name();
  e->url_shown = route.candidates.front().shown;
  e->source = source;
  e->created_ms = e->since_ms = core::wall_clock_ms();
  e->loop = loop;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (entries_.size() >= kMaxForwards)
      return core::Status::errorf("unavailable: {} destinations forwarded already (the limit)", kMaxForwards);
    entries_[e->id] = e;
  }
  started_.fetch_add(1, std::memory_order_relaxed);
  targets_alive_.fetch_add(1, std::memory_order_relaxed);
  if (!ForwardTarget::start(*this, *loop, hub, e, std::move(route), cfg))
    return core::Status::errorf("not_found: {}/{} just ended", hub->app(), hub->name());
  std::lock_guard<std::mutex> lk(mu_);
  return info(*e);
}

core::Status ForwardService::remove(const std::string& app, const std::string& stream, const std::string& id) {
  std::shared_ptr<ForwardEntry> e;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->app != app || it->second->stream != stream)
      return core::Status::errorf("not_found: stream {}/{} has no forward {}", app, stream, id);
    e = it->second;
    entries_.erase(it);
  }
  if (!e->loop->post([e] {
        if (e->target) e->target->stop("removed through the admin API");
      }))
    return core::Status::error("unavailable: the server is stopping");
  return core::Status::ok();
}

void ForwardService::target_ended(const std::shared_ptr<ForwardEntry>& e) {
  e->target = nullptr;
  bytes_ended_.fetch_add(e->bytes_out.load(std::memory_order_relaxed), std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(mu_);
  if (auto it = entries_.find(e->id); it != entries_.end() && it->second == e) entries_.erase(it);
}

void ForwardService::set_state(ForwardEntry& e, ForwardState s, const std::string& error, const std::string& shown) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!shown.empty()) e.url_shown = shown;
  if (s == ForwardState::kConnecting && e.state == ForwardState::kBackoff) {
    e.reconnects.fetch_add(1, std::memory_order_relaxed);
    reconnects_.fetch_add(1, std::memory_order_relaxed);
  }
  if (s != e.state) e.since_ms = core::wall_clock_ms();
  e.state = s;
  if (!error.empty()) e.last_error = error;
}

void ForwardService::count_dropped(ForwardEntry& e, uint64_t frames) {
  e.dropped_frames.fetch_add(frames, std::memory_order_relaxed);
  dropped_frames_.fetch_add(frames, std::memory_order_relaxed);
}

ForwardInfo ForwardService::info(const ForwardEntry& e) {
  ForwardInfo i;
  i.id = e.id;
  i.app = e.app;
  i.stream = e.stream;
  i.url = e.url_shown;
  i.source = e.source;
  i.state = e.state;
  i.created_ms = e.created_ms;
  i.since_ms = e.since_ms;
  i.last_error = e.last_error;
  i.bytes_out = e.bytes_out.load(std::memory_order_relaxed);
  i.reconnects = e.reconnects.load(std::memory_order_relaxed);
  i.dropped_frames = e.dropped_frames.load(std::memory_order_relaxed);
  i.queued_bytes = e.queued_bytes.load(std::memory_order_relaxed);
  return i;
}

std::vector<ForwardInfo> ForwardService::list(const std::string& app, const std::string& stream,
                                              const std::string& after, size_t limit, bool& more) const {
  std::vector<ForwardInfo> out;
  more = false;
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = entries_.upper_bound(after); it != entries_.end(); ++it) {
    const ForwardEntry& e = *it->second;
    if ((!app.empty() && e.app != app) || (!stream.empty() && e.stream != stream)) continue;
    if (out.size() == limit) {
      more = true;
      break;
    }
    out.push_back(info(e));
  }
  return out;
}

void ForwardService::write_metrics(std::string& out) const {
  size_t by_state[3] = {0, 0, 0};
  uint64_t bytes = bytes_ended_.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [id, e] : entries_) {
      ++by_state[size_t(e->state)];
      bytes += e->bytes_out.load(std::memory_order_relaxed);
    }
  }
  out += "# HELP weir_forward_destinations Forward destinations of live streams, by state.\n"
         "# TYPE weir_forward_destinations gauge\n";
  for (ForwardState s : {ForwardState::kConnecting, ForwardState::kForwarding, ForwardState::kBackoff})
    out += fmt::format("weir_forward_destinations{{state=\"{}\"}} {}\n", to_string(s), by_state[size_t(s)]);
  auto c = [&out](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  c("weir_forward_started_total", "Forward destinations started (config and admin API).", started_.load());
  c("weir_forward_reconnects_total", "Reconnects to a forward destination after it failed.", reconnects_.load());
  c("weir_forward_dropped_frames_total",
    "Frames not forwarded because a destination fell behind (dropped up to the next keyframe).",
    dropped_frames_.load());
  c("weir_forward_sent_bytes_total", "Bytes sent to forward destinations.", bytes);
  c("weir_forward_failovers_total",
    "Pushes to an edge's origins (upstream.publish: forward) that moved to another origin of the list.",
    failovers_.load());
}

void ForwardService::stop_all() {
  std::vector<std::shared_ptr<ForwardEntry>> all;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [id, e] : entries_) all.push_back(e);
    entries_.clear();
  }
  for (auto& e : all)
    (void)e->loop->post([e] {
      if (e->target) e->target->stop("server shutting down");
    });
  for (int i = 0; i < 300 && targets_alive_.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (int64_t left = targets_alive_.load(); left > 0) spdlog::warn("forward: {} destinations still open at shutdown", left);
}

}  // namespace weir::edge
