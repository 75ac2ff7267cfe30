// The admin API's view of the process: GET /api/v1/summary (uptime, loops,
// connections, streams, bytes and bit rates in and out, CPU, RSS) and
// GET /api/v1/config (the running config as JSON, secrets masked).
//
// Rates and CPU come from ProcessSampler: one snapshot a second, taken by a
// timer on one loop, kept for the last kWindow seconds; the summary reports
// the rates over that window (measured, not configured). RSS is read from
// /proc/self/statm by the timer (procfs is memory-backed: no disk I/O on the
// loop).
//
// Thread: ProcessSampler::start on its loop's thread; snapshot() from any
// thread (under mu_). Routes are added on the main thread before the loops
// start; the sampler and `config_path` outlive the router.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/timer.h"
#include "origin/http/router.h"

namespace weir::origin {

class Origin;

namespace api {

class ProcessSampler {
 public:
  static constexpr size_t kWindow = 10;  // seconds of history the rates span (at most)

  explicit ProcessSampler(Origin& origin) : origin_(origin) {}
  // Loop thread: samples now and then every second until the loop stops.
  void start(core::Loop& loop);

  struct Rates {
    double window_s = 0;  // 0 until two samples exist
    double bytes_in_per_s = 0, bytes_out_per_s = 0;
    double cpu_percent = 0;  // of one core
    uint64_t rss_bytes = 0;
  };
  Rates rates() const;

 private:
  struct Sample {
    int64_t at_ms;
    uint64_t bytes_in, bytes_out;
    double cpu_s;
    uint64_t rss;
  };
  void tick();

  Origin& origin_;
  std::unique_ptr<core::Timer> timer_;  // its loop only
  mutable std::mutex mu_;
  std::deque<Sample> samples_;  // guarded by mu_; at most kWindow + 1
};

// The config as JSON: every key (forward URLs without their query), secrets ("config::Secret" fields) as
// "********" when set.
nlohmann::json config_json(const core::Config& config);

// Adds GET /api/v1/summary and GET /api/v1/config to `router` behind the
// admin guard.
void add_system_routes(http::Router& router, Origin& origin, const ProcessSampler& sampler, std::string version);

}  // namespace api
}  // namespace weir::origin
