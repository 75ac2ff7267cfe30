#include "loadgen/run_players.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/loop.h"
#include "loadgen/player.h"
#include "loadgen/runner.h"

namespace weir::loadgen {

std::atomic<bool> g_stop_requested{false};

long raise_fd_limit(long want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur != RLIM_INFINITY && long(rl.rlim_cur) < want) {
    rlim_t target = rlim_t(want);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < target) target = rl.rlim_max;
    rl.rlim_cur = target;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? want : long(rl.rlim_cur);
}

namespace {

struct CpuTimes {
  double user = 0, sys = 0;
};
CpuTimes cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6,
          double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6};
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

void event(const Options& o, const char* name, double t_s, const nlohmann::json& extra = {}) {
  if (o.quiet) return;
  nlohmann::json j = {{"event", name}, {"t_s", round3(t_s)}};
  if (extra.is_object()) j.update(extra);
  fmt::print(stderr, "{}\n", j.dump());
  std::fflush(stderr);
}

}  // namespace

int run_players(const Options& o) {
  long limit = raise_fd_limit(long(o.n) + 256);
  if (limit < long(o.n) + 64)
    fmt::print(stderr, "loadgen: warning: open file limit {} is low for {} connections\n", limit, o.n);

  const int loops = o.loops;
  const int64_t t0 = mono_us() + 20000;
  std::vector<std::unique_ptr<Runner>> runners;
  for (int i = 0; i < loops; ++i) {
    std::vector<uint32_t> ids;
    for (int p = i; p < o.n; p += loops) ids.push_back(uint32_t(p));
    runners.push_back(std::make_unique<Runner>(o, t0, std::move(ids)));
  }
  CpuTimes cpu0 = cpu_now();
  core::LoopGroup group(loops);
  group.start([&](core::Loop& l) { runners[size_t(l.index())]->start(l); });

  auto total_bytes = [&] {
    uint64_t b = 0;
    for (auto& r : runners) b += r->bytes();
    return b;
  };
  const double ramp_s = double(o.n - 1) / o.ramp;
  const int64_t end_at = t0 + int64_t(o.duration * 1e6);
  const int64_t steady_at = t0 + int64_t((ramp_s + std::max(o.warmup, 1.0)) * 1e6);
  bool steady = false;
  int64_t steady_t = 0;
  uint64_t steady_bytes0 = 0;
  CpuTimes steady_cpu0;
  while (!g_stop_requested.load()) {
    int64_t now = mono_us();
    if (now >= end_at) break;
    if (!steady && now >= steady_at) {
      steady = true;
      steady_t = now;
      steady_bytes0 = total_bytes();
      steady_cpu0 = cpu_now();
      event(o, "steady_start", double(now - t0) / 1e6);
    }
    int64_t next = std::min(end_at, steady ? end_at : steady_at);
    int64_t wait = std::clamp<int64_t>(next - now, 100, 50000);
    std::this_thread::sleep_for(std::chrono::microseconds(wait));
  }
  int64_t t_end = mono_us();
  uint64_t bytes_end = total_bytes();
  CpuTimes steady_cpu1 = cpu_now();
  if (steady) event(o, "steady_end", double(t_end - t0) / 1e6);
  group.stop();
  CpuTimes cpu1 = cpu_now();

  // Aggregate.
  LatencyHistogram lat;
  std::vector<double> ttfb, ttfk, ratios;
  uint64_t bytes = 0, frames = 0;
  uint32_t connected = 0, failed = 0, stalls = 0, stalled_players = 0, reconnects = 0, skips = 0, started = 0;
  std::map<std::string, int> errors;
  for (auto& r : runners) {
    lat.merge(r->latency());
    for (const PlayerStats& s : r->stats()) {
      if (!s.started) continue;
      ++started;
      bytes += s.bytes;
      frames += s.frames;
      if (s.connected) ++connected;
      if (s.failed || !s.connected) {
        ++failed;
        ++errors[s.failed ? s.error : "never reached playing state"];
      }
      stalls += s.stalls;
      if (s.stalls) ++stalled_players;
      reconnects += s.reconnects;
      skips += s.skips;
      if (s.first_byte_us >= 0) ttfb.push_back(double(s.first_byte_us - s.connect_start_us) / 1000.0);
      if (s.first_keyframe_us >= 0) ttfk.push_back(double(s.first_keyframe_us - s.connect_start_us) / 1000.0);
      if (s.media_time_ratio >= 0) ratios.push_back(s.media_time_ratio);
    }
  }
  double duration_s = double(t_end - t0) / 1e6;
  double mean_ratio = 0, min_ratio = 0;
  if (!ratios.empty()) {
    min_ratio = ratios[0];
    for (double r : ratios) {
      mean_ratio += r;
      min_ratio = std::min(min_ratio, r);
    }
    mean_ratio /= double(ratios.size());
  }
  double steady_s = steady ? double(t_end - steady_t) / 1e6 : 0;
  uint64_t steady_bytes = steady ? bytes_end - steady_bytes0 : 0;
  double cpu_user = cpu1.user - cpu0.user, cpu_sys = cpu1.sys - cpu0.sys;
  double steady_cpu = steady ? (steady_cpu1.user - steady_cpu0.user) + (steady_cpu1.sys - steady_cpu0.sys) : 0;

  nlohmann::json j;
  j["kind"] = kind_name(o.kind);
  j["url"] = o.url_text;
  j["n"] = o.n;
  j["loops"] = loops;
  j["started"] = started;
  j["connected"] = connected;
  j["failed"] = failed;
  j["bytes"] = bytes;
  j["frames"] = frames;
  j["duration_s"] = round3(duration_s);
  j["mbit_s"] = round3(duration_s > 0 ? double(bytes) * 8 / 1e6 / duration_s : 0);
  j["steady"] = {{"duration_s", round3(steady_s)},
                 {"bytes", steady_bytes},
                 {"mbit_s", round3(steady_s > 0 ? double(steady_bytes) * 8 / 1e6 / steady_s : 0)},
                 {"cpu_s", round3(steady_cpu)}};
  j["ttfb_ms"] = {{"p50", round3(percentile(ttfb, 0.5))}, {"p99", round3(percentile(ttfb, 0.99))},
                  {"samples", ttfb.size()}};
  j["ttfk_ms"] = {{"p50", round3(percentile(ttfk, 0.5))}, {"p99", round3(percentile(ttfk, 0.99))},
                  {"samples", ttfk.size()}};
  j["stalls"] = stalls;
  j["players_stalled"] = stalled_players;
  j["media_time_ratio"] = {{"mean", round3(mean_ratio)}, {"min", round3(min_ratio)}, {"samples", ratios.size()}};
  j["latency_ms"] = {{"p50", round3(lat.percentile_ms(0.5))},
                     {"p99", round3(lat.percentile_ms(0.99))},
                     {"max", round3(lat.max_ms())},
                     {"samples", lat.count()}};
  if (o.kind == PlayerKind::kHls || o.kind == PlayerKind::kLlHls) {
    j["reconnects"] = reconnects;
    j["skips"] = skips;
  }
  j["cpu_user_s"] = round3(cpu_user);
  j["cpu_sys_s"] = round3(cpu_sys);
  double gbit = double(bytes) * 8 / 1e9;
  j["cpu_s_per_gbit"] = round3(gbit > 0 ? (cpu_user + cpu_sys) / gbit : 0);
  nlohmann::json errs = nlohmann::json::object();
  for (auto& [why, count] : errors) {
    if (errs.size() >= 8) break;
    errs[why] = count;
  }
  j["errors"] = errs;

  if (o.json) {
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{} {} x{}: connected {}/{} failed {}, {:.1f} Mbit/s ({} bytes in {:.2f} s)\n", kind_name(o.kind),
               o.url_text, o.n, connected, o.n, failed, double(j["mbit_s"]), bytes, duration_s);
    fmt::print("  ttfb p50 {:.2f} ms p99 {:.2f} ms; ttfk p50 {:.2f} ms p99 {:.2f} ms ({} players)\n",
               percentile(ttfb, 0.5), percentile(ttfb, 0.99), percentile(ttfk, 0.5), percentile(ttfk, 0.99),
               ttfk.size());
    fmt::print("  stalls {} ({} players); media-time ratio mean {:.3f} min {:.3f} ({} players)\n", stalls,
               stalled_players, mean_ratio, min_ratio, ratios.size());
    fmt::print("  latency p50 {:.2f} ms p99 {:.2f} ms max {:.2f} ms ({} samples)\n", lat.percentile_ms(0.5),
               lat.percentile_ms(0.99), lat.max_ms(), lat.count());
    fmt::print("  loadgen cpu user {:.2f} s sys {:.2f} s\n", cpu_user, cpu_sys);
    for (auto& [why, count] : errors) fmt::print("  error x{}: {}\n", count, why);
  }
  std::fflush(stdout);
  return connected > 0 ? 0 : 1;
}

}  // namespace weir::loadgen
