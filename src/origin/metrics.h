// Process-wide counters exported at /metrics (Prometheus text format).
//
// Thread: counters are relaxed atomics, bumped from any loop; export reads
// them without locks. Gauges computed at scrape time live with the exporter.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "origin/admission.h"
#include "protocol/url_signing.h"

namespace weir::origin {

// Bytes of one configured app (the key under `apps:`; "*" for every app the
// wildcard serves), so the series stay as many as the config's apps:
// weir_app_bytes_in_total{app}, weir_app_bytes_out_total{app}.
struct AppCounters {
  std::atomic<uint64_t> bytes_in{0};   // media payload from publishers
  std::atomic<uint64_t> bytes_out{0};  // queued to RTMP, SRT, HTTP-FLV, WS-FLV and .ts viewers
};

struct Metrics {
  using Counter = std::atomic<uint64_t>;
  Counter publishes_total{0};            // publisher sessions accepted
  Counter publish_refused_total{0};      // refused (bad name, busy, unknown app)
  Counter republish_total{0};            // publisher came back within grace
  Counter takeovers_total{0};
  Counter streams_ended_total{0};
  Counter packets_in_total{0};
  Counter bytes_in_total{0};
  Counter viewers_total{0};              // viewer sessions started
  Counter viewer_skips_total{0};         // jumps to the newest keyframe
  Counter viewers_slow_closed_total{0};  // closed past the hard byte cap
  Counter viewer_bytes_out_total{0};
  Counter inbox_overflow_total{0};
  Counter sessions_rejected_total{0};    // malformed input closed a session
  Counter admission_denied_total{0};     // publish/play requests refused by an admission check
  std::atomic<int64_t> viewers_open{0};
  std::atomic<int64_t> publishers_open{0};
  // SRT (ingest/srt).
  Counter srt_connections_total{0};        // SRT connections accepted
  Counter srt_rejected_total{0};           // refused during the handshake (stream id, app, busy, ...)
  Counter srt_input_dropped_total{0};      // publisher datagram batches dropped at a full input queue
  Counter srt_ts_cc_errors_total{0};       // MPEG-TS continuity gaps in SRT input
  Counter srt_ts_resyncs_total{0};         // MPEG-TS sync losses in SRT input
  Counter srt_ts_errors_total{0};          // transport-error, malformed or bad-section TS packets
  Counter srt_ts_pes_dropped_total{0};     // PES packets dropped (lost packets, over the cap, bad header)
  std::atomic<int64_t> srt_connections_open{0};

  // Connections that ended before their protocol's handshake completed:
  // weir_handshake_failures_total{protocol,reason}.
  // HTTPS's TLS failures are in http::HttpCounters::tls_failures_total.
  enum class HandshakeProtocol : uint8_t { kRtmp, kRtmps };
  enum class HandshakeFailure : uint8_t { kMalformed, kTimeout, kClosed, kTls };
  static constexpr size_t kHandshakeProtocols = 2, kHandshakeFailures = 4;
  std::array<Counter, kHandshakeProtocols * kHandshakeFailures> handshake_failures_by{};
  void handshake_failed(HandshakeProtocol p, HandshakeFailure f) {
    handshake_failures_by[size_t(p) * kHandshakeFailures + size_t(f)].fetch_add(1, std::memory_order_relaxed);
  }

  // Signed-URL refusals (SignedUrlCheck) by protocol and reason:
  // weir_auth_denied_total{protocol,reason}.
  static constexpr size_t kAuthProtocols = size_t(kLastAccessProtocol) + 1;
  static constexpr size_t kAuthReasons = size_t(protocol::TokenVerdict::kInvalid) + 1;
  std::array<Counter, kAuthProtocols * kAuthReasons> auth_denied_by{};
  Counter& auth_denied(AccessProtocol p, protocol::TokenVerdict v) {
    return auth_denied_by[size_t(p) * kAuthReasons + size_t(v)];
  }
  // Access-rule refusals (AccessCheck), exported in the same family with
  // reason="ip" (apps.<app>.access.*_allow/_deny) or "referer".
  enum class AccessDenial : uint8_t { kIp, kReferer };
  static constexpr size_t kAccessReasons = 2;
  std::array<Counter, kAuthProtocols * kAccessReasons> access_denied_by{};
  Counter& access_denied(AccessProtocol p, AccessDenial r) {
    return access_denied_by[size_t(p) * kAccessReasons + size_t(r)];
  }
};

}  // namespace weir::origin
