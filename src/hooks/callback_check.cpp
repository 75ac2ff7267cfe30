#include "hooks/callback_check.h"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "client/event_sender.h"
#include "client/http_client.h"
#include "core/clock.h"
#include "origin/origin.h"

namespace weir::hooks {

using origin::AccessProtocol;
using origin::AdmissionDecision;
using origin::AdmissionRequest;
using origin::Direction;
using origin::Refusal;

namespace {

constexpr const char* kHooks[] = {"on_publish", "on_play"};
constexpr const char* kResultNames[] = {"allowed", "refused", "failed_open", "failed_closed"};

bool asks(AccessProtocol p) {
  return p != AccessProtocol::kHlsSegment && p != AccessProtocol::kHlsPart && p != AccessProtocol::kHlsKey;
}

// Requests a player repeats many times a minute (playlist reloads; a VOD
// player's Range requests and segments; a page polling a snapshot): an allow
// is remembered.
bool cached(AccessProtocol p) {
  return p == AccessProtocol::kHlsPlaylist || p == AccessProtocol::kVod || p == AccessProtocol::kSnapshot;
}

}  // namespace

struct CallbackCheck::Call {
  core::Loop* loop = nullptr;
  std::unique_ptr<client::HttpClient> http;
  Done done;
  size_t hook = 0;
  bool fail_open = false;
  std::string what;       // "rtmp publish of live/s by 1.2.3.4:5"
  std::string cache_key;  // non-empty: remember an allow (HLS playlists)
  int64_t cache_ms = 0;
};

CallbackCheck::CallbackCheck(origin::Origin& origin, std::shared_ptr<const core::TlsContext> tls)
    : origin_(origin), tls_(std::move(tls)) {}

const std::string& CallbackCheck::url_for(const AdmissionRequest& req) const {
  static const std::string kNone;
  const core::AppConfig* app = origin_.config().find_app(req.app);
  if (!app || !asks(req.protocol)) return kNone;
  return req.direction == Direction::kPublish ? app->callbacks.on_publish : app->callbacks.on_play;
}

std::string CallbackCheck::cache_key(const AdmissionRequest& req) const {
  return fmt::format("{}\n{}\n{}\n{}", req.client_ip(), req.app, req.stream, origin::access_protocol_name(req.protocol));
}

std::optional<AdmissionDecision> CallbackCheck::check_now(const AdmissionRequest& req) {
  if (url_for(req).empty()) return AdmissionDecision::allow();
  if (cached(req.protocol)) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = allowed_until_ms_.find(cache_key(req));
    if (it != allowed_until_ms_.end() && it->second > core::wall_clock_ms()) return AdmissionDecision::allow();
  }
  return std::nullopt;
}

std::string CallbackCheck::body_of(const AdmissionRequest& req) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : req.params)
    if (!params.contains(k)) params[k] = v;
  return nlohmann::json{{"action", req.direction == Direction::kPublish ? "publish" : "play"},
                        {"app", req.app},
                        {"stream", req.stream},
                        {"protocol", std::string(origin::access_protocol_name(req.protocol))},
                        {"client", req.client},
                        {"client_ip", std::string(req.client_ip())},
                        {"params", std::move(params)}}
      .dump();
}

void CallbackCheck::check_later(const AdmissionRequest& req, core::Loop& loop, Done done) {
  const core::AppConfig* app = origin_.config().find_app(req.app);
  const std::string& url = url_for(req);
  if (!app || url.empty()) return done(AdmissionDecision::allow());
  const core::CallbacksConfig& cb = app->callbacks;
  auto call = std::make_shared<Call>();
  call->loop = &loop;
  call->done = std::move(done);
  call->hook = req.direction == Direction::kPublish ? 0 : 1;
  call->fail_open = cb.fail_open;
  call->what = fmt::format("{} {} of {}/{} by {}", origin::access_protocol_name(req.protocol),
                           call->hook == 0 ? "publish" : "play", req.app, req.stream, req.client);
  if (cached(req.protocol) && cb.cache_ms > 0) {
    call->cache_key = cache_key(req);
    call->cache_ms = cb.cache_ms;
  }
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= kMaxInFlight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return finish(call, 0, fmt::format("{} callbacks in flight (the cap)", kMaxInFlight));
  }
  client::HttpClientOptions o;
  o.connect_timeout_ms = o.head_timeout_ms = o.idle_timeout_ms = o.total_timeout_ms = uint64_t(cb.timeout_ms);
  o.tls = tls_;
  o.user_agent = "weir-callback";
  call->http = std::make_unique<client::HttpClient>(loop, o);

  client::HttpRequest r;
  r.method = "POST";
  r.url = url;
  const std::string body = body_of(req);
  r.headers.push_back({"Content-Type", "application/json"});
  if (!cb.secret.empty())
    r.headers.push_back({"Weir-Signature", client::EventSender::signature(cb.secret, std::time(nullptr), body)});
  r.body = core::Slice::copy_of(core::ByteView(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  core::Status st = call->http->request(std::move(r), kMaxAnswerBody, [this, call](core::Result<client::HttpResponse> a) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (!a) return finish(call, 0, a.error());
    finish(call, a->status, a->status / 100 == 2 || a->status / 100 == 4 ? "" : fmt::format("HTTP {}", a->status));
  });
  if (!st) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    finish(call, 0, st.message());
  }
}

void CallbackCheck::finish(const std::shared_ptr<Call>& call, int status, const std::string& failure) {
  // The client may be running this callback: let it go after it returns.
  if (call->http) {
    auto http = std::shared_ptr<client::HttpClient>(std::move(call->http));
    if (!call->loop->post([http] {})) {
      // The loop is stopping: it frees its handles itself.
    }
  }
  const char* hook = kHooks[call->hook];
  Result result;
  AdmissionDecision d;
  if (failure.empty() && status / 100 == 2) {
    result = Result::kAllowed;
    if (!call->cache_key.empty()) {
      std::lock_guard<std::mutex> lk(mu_);
      auto [it, inserted] = allowed_until_ms_.insert_or_assign(call->cache_key, core::wall_clock_ms() + call->cache_ms);
      if (inserted) {
        cache_order_.push_back(call->cache_key);
        while (cache_order_.size() > kMaxCached) {
          allowed_until_ms_.erase(cache_order_.front());
          cache_order_.pop_front();
        }
      }
    }
  } else if (failure.empty()) {
    result = Result::kRefused;
    d = AdmissionDecision::deny(Refusal::kForbidden, fmt::format("{} refused by the callback (HTTP {})", hook, status));
  } else {
    result = call->fail_open ? Result::kFailedOpen : Result::kFailedClosed;
    bool log = false;
    uint64_t similar = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (auto n = failure_log_.allow(core::wall_clock_ms())) log = true, similar = *n - 1;
    }
    if (log)
      spdlog::warn("callback: {} for {} failed: {}; {} ({} similar before)", hook, call->what, failure,
                   call->fail_open ? "allowed (fail_open)" : "refused", similar);
    if (!call->fail_open)
      d = AdmissionDecision::deny(Refusal::kUnavailable, fmt::format("{} callback failed: {}", hook, failure));
  }
  results_[call->hook * kResults + size_t(result)].fetch_add(1, std::memory_order_relaxed);
  Done done = std::move(call->done);
  done(std::move(d));
}

void CallbackCheck::write_metrics(std::string& out) const {
  out += "# HELP weir_callback_results_total Publish and play callbacks (apps.<app>.callbacks) by hook and result.\n"
         "# TYPE weir_callback_results_total counter\n";
  for (size_t h = 0; h < 2; ++h)
    for (size_t r = 0; r < kResults; ++r)
      fmt::format_to(std::back_inserter(out), "weir_callback_results_total{{hook=\"{}\",result=\"{}\"}} {}\n", kHooks[h],
                     kResultNames[r], results_[h * kResults + r].load(std::memory_order_relaxed));
}

}  // namespace weir::hooks
