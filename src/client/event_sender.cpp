#include "client/event_sender.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <cstring>
#include <ctime>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "client/http_client.h"
#include "core/clock.h"
#include "core/timer.h"
#include "protocol/digest.h"

namespace weir::client {

namespace {

std::string new_event_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // No entropy from OpenSSL: time + a counter still make ids unique here.
    static std::atomic<uint64_t> n{0};
    uint64_t t = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    uint64_t c = n.fetch_add(1);
    std::memcpy(b, &t, 8);
    std::memcpy(b + 8, &c, 8);
  }
  return "evt_" + protocol::to_hex(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = std::time_t(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
}

// JSON string literal of `s` (the type is ours; kept safe anyway).
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", int(c));
    else out += c;
  }
  return out + "\"";
}

}  // namespace

// One receiver's queue and its one exchange in flight. Loop thread only.
struct EventSender::Receiver {
  EventReceiver cfg;
  std::deque<std::string> queue;  // bodies, oldest first
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<core::Timer> retry;
  bool retired = false;    // no longer configured: takes no event
  bool busy = false;       // a request or a retry wait is in progress
  int attempts = 0;        // of queue.front()
  uint64_t dropped_since_log = 0;
};

std::vector<EventReceiver> event_receivers(const core::Config& config) {
  std::vector<EventReceiver> out;
  for (const std::string& url : config.events.urls()) out.push_back({url, config.events.secret, {}});
  for (const auto& [name, app] : config.apps)
    for (const std::string& url : app.events.urls())
      out.push_back({url, app.events.secret.empty() ? config.events.secret : app.events.secret, name});
  return out;
}

EventSender::EventSender(core::Loop& loop, std::vector<EventReceiver> receivers, Options options)
    : loop_(loop), opt_(options) {
  apply_receivers(receivers);
}

void EventSender::set_receivers(std::vector<EventReceiver> receivers) {
  auto list = std::make_shared<std::vector<EventReceiver>>(std::move(receivers));
  // Counted now: an event emitted right after this call (and posted after the
  // list) must not be skipped by enabled().
  active_.store(list->size(), std::memory_order_relaxed);
  if (loop_.on_loop_thread()) return apply_receivers(*list);
  if (!loop_.post([this, list] { apply_receivers(*list); }))
    spdlog::warn("events: the event loop refused the new receiver list (stopping or full); the old one stays");
}

void EventSender::apply_receivers(const std::vector<EventReceiver>& receivers) {
  for (auto& r : receivers_) {
    const bool keep = std::find(receivers.begin(), receivers.end(), r->cfg) != receivers.end();
    if (!keep && !r->retired) {
      r->retired = true;
      // The event in flight (if any) finishes; the others are dropped.
      const size_t waiting = r->queue.size() - (r->busy && !r->queue.empty() ? 1 : 0);
      r->queue.erase(r->queue.end() - std::ptrdiff_t(waiting), r->queue.end());
      stats_.dropped.fetch_add(waiting, std::memory_order_relaxed);
      spdlog::info("events: receiver {} removed ({} waiting events dropped)", r->cfg.url, waiting);
    }
    if (keep) r->retired = false;
  }
  for (const auto& want : receivers) {
    auto it = std::find_if(receivers_.begin(), receivers_.end(), [&](const auto& r) { return r->cfg == want; });
    if (it != receivers_.end()) continue;
    auto rec = std::make_unique<Receiver>();
    rec->cfg = want;
    receivers_.push_back(std::move(rec));
  }
  size_t active = 0;
  for (const auto& r : receivers_) active += r->retired ? 0 : 1;
  active_.store(active, std::memory_order_relaxed);
}

EventSender::~EventSender() = default;

std::string EventSender::signature(const std::string& secret, int64_t unix_s, const std::string& body) {
  std::string msg = std::to_string(unix_s) + "." + body;
  return fmt::format("t={},v1={}", unix_s, protocol::hmac_sha256_hex(secret, msg));
}

void EventSender::emit(std::string type, std::string data_json, std::string app) {
  if (!enabled()) return;
  stats_.emitted.fetch_add(1, std::memory_order_relaxed);
  std::string body = "{\"id\":" + json_string(new_event_id()) + ",\"type\":" + json_string(type) +
                     ",\"time\":" + json_string(now_rfc3339()) + ",\"data\":" + data_json + "}";
  if (loop_.on_loop_thread()) return enqueue(body, app);
  if (!loop_.post([this, body = std::move(body), app = std::move(app)] { enqueue(body, app); })) {
    stats_.dropped.fetch_add(active_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    std::optional<uint64_t> n;
    {
      std::lock_guard<std::mutex> lk(refused_log_mu_);
      n = refused_log_.allow(core::wall_clock_ms());
    }
    if (n) spdlog::warn("events: {} dropped: the event loop refused it (stopping or full; {} similar before)", type, *n - 1);
  }
}

void EventSender::enqueue(const std::string& body, const std::string& app) {
  for (auto& r : receivers_) {
    if (r->retired || (!r->cfg.app.empty() && r->cfg.app != app)) continue;
    if (r->queue.size() >= opt_.max_queued) {
      // Overflow action: drop the oldest waiting event (not the one in flight).
      auto victim = r->busy && r->queue.size() > 1 ? r->queue.begin() + 1 : r->queue.begin();
      if (r->busy && victim == r->queue.begin()) r->attempts = 0;
      r->queue.erase(victim);
      stats_.dropped.fetch_add(1, std::memory_order_relaxed);
      if (r->dropped_since_log++ == 0)
        spdlog::warn("events: receiver {} is {} events behind: dropping the oldest (events.max_queued)", r->cfg.url,
                     opt_.max_queued);
    } else {
      r->dropped_since_log = 0;
    }
    r->queue.push_back(body);
    pump(*r);
  }
}

void EventSender::pump(Receiver& r) {
  if (r.busy || r.queue.empty()) return;
  if (!r.http) {
    HttpClientOptions o;
    o.connect_timeout_ms = opt_.timeout_ms;
    o.head_timeout_ms = opt_.timeout_ms;
    o.idle_timeout_ms = opt_.timeout_ms;
    o.total_timeout_ms = opt_.timeout_ms;
    o.user_agent = "weir-events";
    o.tls = opt_.tls;
    r.http = std::make_unique<HttpClient>(loop_, o);
    r.retry = std::make_unique<core::Timer>(loop_);
  }
  r.busy = true;
  ++r.attempts;
  const std::string& body = r.queue.front();
  HttpRequest req;
  req.method = "POST";
  req.url = r.cfg.url;
  req.headers.push_back({"Content-Type", "application/json"});
  if (!r.cfg.secret.empty()) {
    int64_t t = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    req.headers.push_back({"Weir-Signature", signature(r.cfg.secret, t, body)});
  }
  req.body = core::Slice::copy_of(core::as_bytes(body));
  Receiver* rp = &r;
  auto finish = [this, rp](bool ok, const std::string& why) {
    Receiver& r = *rp;
    if (ok) {
      stats_.delivered.fetch_add(1, std::memory_order_relaxed);
      r.queue.pop_front();
      r.attempts = 0;
      r.busy = false;
      return pump(r);
    }
    if (r.attempts >= opt_.max_attempts) {
      stats_.failed.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("events: giving up on an event for {} after {} attempts: {}", r.cfg.url, r.attempts, why);
      r.queue.pop_front();
      r.attempts = 0;
      r.busy = false;
      return pump(r);
    }
    stats_.retries.fetch_add(1, std::memory_order_relaxed);
    uint64_t delay = opt_.backoff_ms << std::min(r.attempts - 1, 20);
    delay = std::min(delay, opt_.max_backoff_ms);
    spdlog::info("events: {} failed ({}); retry {} in {} ms", r.cfg.url, why, r.attempts, delay);
    r.retry->start(delay, [this, rp] {
      rp->busy = false;
      pump(*rp);
    });
  };
  core::Status st = r.http->request(std::move(req), 64 * 1024, [finish](core::Result<HttpResponse> res) {
    if (!res) return finish(false, res.error());
    if (res->status < 200 || res->status > 299) return finish(false, fmt::format("HTTP {}", res->status));
    finish(true, "");
  });
  if (!st) {
    // A URL the client refuses will never work: drop the event, say why.
    spdlog::error("events: cannot send to {}: {}", r.cfg.url, st.message());
    stats_.failed.fetch_add(1, std::memory_order_relaxed);
    r.queue.pop_front();
    r.attempts = 0;
    r.busy = false;
    pump(r);
  }
}

}  // namespace weir::client
