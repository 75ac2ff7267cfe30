// Process-wide HTTP server counters, for /metrics.
//
// Thread: relaxed atomics, bumped from any loop; readers take a snapshot
// without locks (values may be a moment apart from each other).
#pragma once

#include <atomic>
#include <cstdint>

namespace weir::origin::http {

struct HttpCounters {
  // Requests answered, by status class of the answer: [1] = 1xx ... [5] = 5xx;
  // [0] unused. A streamed or upgraded response counts when its head is
  // written; error answers to malformed requests (400/408/413/414/431/505) count too.
  std::atomic<uint64_t> requests_by_class[6] = {};
  std::atomic<uint64_t> bad_requests_total{0};      // malformed or over a limit (answered 4xx/5xx and closed)
  std::atomic<uint64_t> request_timeouts_total{0};  // request not complete within request_timeout_ms
  std::atomic<int64_t> open_connections{0};
  std::atomic<int64_t> websocket_connections{0};
  std::atomic<uint64_t> tls_failures_total{0};  // HTTPS connections whose TLS failed

  void count_response(int status) {
    int cls = status / 100;
    if (cls >= 1 && cls <= 5) requests_by_class[cls].fetch_add(1, std::memory_order_relaxed);
  }
};

HttpCounters& http_counters();

}  // namespace weir::origin::http
