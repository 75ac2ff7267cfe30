// CallbackCheck: the admission check (origin/admission.h) that asks an HTTP
// callback whether a client may publish or play: apps.<app>.callbacks
// on_publish / on_play. The request is
//   POST URL  {"action": "publish"|"play", "app", "stream", "protocol",
//              "client": "IP:PORT", "client_ip", "params": {...}}
// with Weir-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret, t + "." + body))
// when callbacks.secret is set (the events' scheme). The answer:
//   2xx                       allowed
//   4xx                       refused (Refusal::kForbidden, "... refused by the callback (HTTP 403)")
//   anything else: 3xx (not followed), 5xx, a timeout, a refused connection,
//   an answer that is not HTTP: failed; allowed when callbacks.fail_open,
//   else refused as unavailable (Refusal::kUnavailable).
// Each outcome is logged (failures rate-limited) and counted:
// weir_callback_results_total{hook,result}.
//
// Asked for: publishes (RTMP, SRT) and plays (RTMP, SRT, HTTP-FLV, WS-FLV,
// .ts, HLS playlists, VOD assets). HLS segments, parts, init segments and
// keys are not asked (a player fetches dozens a minute; sign play URLs to
// protect them). An allowed HLS playlist or VOD request is remembered for
// callbacks.cache_ms per (client address, app, stream, protocol), so a
// player's reloads, Range requests and VOD segments do not each call out.
//
// Bounds: at most kMaxInFlight callbacks at once across the process; past it
// a request fails at once (per fail_open), counted as failed. The playlist
// cache holds at most kMaxCached entries; past it the oldest goes.
//
// Threads: check_now on any thread (answers from config and the cache, under
// mu_); check_later on the asking loop, whose HttpClient runs the exchange
// and whose thread gets `done`. Added on the main thread before the loops
// start; outlives them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/log_limiter.h"
#include "origin/admission.h"

namespace weir::core {
class TlsContext;
}
namespace weir::origin {
class Origin;
}

namespace weir::hooks {

class CallbackCheck final : public origin::AdmissionCheck {
 public:
  static constexpr size_t kMaxInFlight = 4096;
  static constexpr size_t kMaxCached = 65536;
  static constexpr size_t kMaxAnswerBody = 64 * 1024;

  // `tls`: client context for https:// callbacks (null: https callbacks fail).
  CallbackCheck(origin::Origin& origin, std::shared_ptr<const core::TlsContext> tls);

  std::string_view name() const override { return "callback"; }
  std::optional<origin::AdmissionDecision> check_now(const origin::AdmissionRequest& req) override;
  void check_later(const origin::AdmissionRequest& req, core::Loop& loop, Done done) override;

  enum class Result : uint8_t { kAllowed, kRefused, kFailedOpen, kFailedClosed };
  static constexpr size_t kResults = 4;
  // Prometheus text of the counters (any thread).
  void write_metrics(std::string& out) const;

  // The request body (tests and receivers' docs).
  static std::string body_of(const origin::AdmissionRequest& req);

 private:
  struct Call;
  const std::string& url_for(const origin::AdmissionRequest& req) const;
  void finish(const std::shared_ptr<Call>& call, int status, const std::string& failure);
  std::string cache_key(const origin::AdmissionRequest& req) const;

  origin::Origin& origin_;
  std::shared_ptr<const core::TlsContext> tls_;
  std::atomic<size_t> in_flight_{0};
  // [hook: 0 publish, 1 play][result]
  std::array<std::atomic<uint64_t>, 2 * kResults> results_{};

  std::mutex mu_;
  std::map<std::string, int64_t> allowed_until_ms_;  // playlist cache; guarded by mu_
  std::deque<std::string> cache_order_;               // insertion order, for the cap; guarded by mu_
  core::LogLimiter failure_log_;                      // guarded by mu_
};

}  // namespace weir::hooks
