// OriginHealth: what the edge knows of each origin it pulls from or pushes
// to (a publish at the edge, edge/forward_service.h), keyed by the URL
// template in the config (so it reads the same in every app and in
// /metrics): up or down, failures, the last error, bytes received, the
// streams pulled from it now and the streams pushed to it now. A failed origin is "down" for a backoff, during
// which pulls try the other origins first (edge/upstream_url.h).
//
// Thread: any (pulls on every loop update it; /metrics reads it). One mutex,
// taken per connect, failure and metrics scrape; bytes are relaxed atomics
// (one add per socket read, no lock).
// Bounds: one entry per distinct template ever configured (entries are kept
// across reloads; their number is the operator's).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace weir::edge {

class OriginHealth {
 public:
  struct Entry {
    std::atomic<uint64_t> bytes{0};
    // Guarded by the table's mutex:
    bool ever_connected = false;
    bool down = false;
    int64_t down_until_ms = 0;  // monotonic
    uint32_t down_rounds = 0;   // consecutive failures, for the backoff
    uint64_t failures = 0;
    int64_t streams = 0;
    int64_t pushes = 0;
    std::string last_error;
  };

  // The monotonic clock (ms) every time here is on.
  static int64_t now_ms();

  // The entry of `tmpl` (made on first use); the reference stays valid.
  Entry& at(const std::string& tmpl);
  // For upstream_order(): whether each of `tmpls` may be tried first now.
  std::vector<bool> healthy(const std::vector<std::string>& tmpls, int64_t now_ms);
  // A pull on it started playing (`push`: a push to it was accepted).
  void connected(Entry& e, bool push = false);
  // A pull (`push`: a push) on it ended: `error` set when it failed
  // (connection, stall, refusal), `down` when the origin itself looks unwell
  // (not for a stream it just does not have or refuses). `backoff_ms` as
  // upstream_backoff_ms of its rounds.
  void ended(Entry& e, bool was_streaming, const std::string& error, bool down, int64_t now_ms, int64_t base_ms,
             int64_t max_ms, bool push = false);

  struct View {
    std::string origin;  // the URL template
    bool ever_connected = false, down = false;
    int64_t down_for_ms = 0;  // left of its backoff (0: may be tried first)
    uint64_t failures = 0, bytes = 0;
    int64_t streams = 0, pushes = 0;
    std::string last_error;
  };
  // Origins after `after` (by template), at most `limit`; `more` when others follow.
  std::vector<View> list(const std::string& after, size_t limit, int64_t now_ms, bool& more) const;

  // Prometheus families weir_edge_origin_* (one series per origin).
  void write_metrics(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // guarded by mu_
};

}  // namespace weir::edge
