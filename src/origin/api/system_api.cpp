#include "origin/api/system_api.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "core/clock.h"
#include "core/tcp_conn.h"
#include "origin/api/admin_api.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"

namespace weir::origin::api {

namespace {

double cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

uint64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "re");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? uint64_t(resident) * uint64_t(sysconf(_SC_PAGESIZE)) : 0;
}

// Walks a config struct's visit() list into JSON.
class JsonDump {
 public:
  explicit JsonDump(nlohmann::json& out) : out_(out) {}
  template <class T, class C>
  void field(const char* key, T& v, const C&, const char*) {
    out_[key] = value(v);
  }
  void field(const char* key, std::string& v, const core::config::Secret&, const char*) {
    out_[key] = v.empty() ? "" : "********";
  }
  // Forward destinations may carry a stream key in their query (?key=K).
  void field(const char* key, std::vector<std::string>& v, const core::config::ForwardUrlTemplates&, const char*) {
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& u : v) {
      const size_t q = u.find('?');
      list.push_back(q == std::string::npos ? u : u.substr(0, q) + "?********");
    }
    out_[key] = std::move(list);
  }
  template <class S>
  void section(const char* key, S& s) {
    nlohmann::json sub = nlohmann::json::object();
    JsonDump d(sub);
    s.visit(d);
    out_[key] = std::move(sub);
  }
  template <class S>
  void map(const char* key, std::map<std::string, S>& m, const char*) {
    nlohmann::json all = nlohmann::json::object();
    for (auto& [name, s] : m) {
      nlohmann::json sub = nlohmann::json::object();
      JsonDump d(sub);
      s.visit(d);
      all[name] = std::move(sub);
    }
    out_[key] = std::move(all);
  }

 private:
  template <class T>
  static nlohmann::json value(const T& v) {
    return nlohmann::json(v);
  }
  static nlohmann::json value(const core::config::ByteSize& v) { return uint64_t(v); }
  nlohmann::json& out_;
};

}  // namespace

void ProcessSampler::start(core::Loop& loop) {
  timer_ = std::make_unique<core::Timer>(loop);
  tick();
  timer_->start(1000, [this] { tick(); }, 1000);
}

void ProcessSampler::tick() {
  const Metrics& m = origin_.metrics();
  Sample s{core::wall_clock_ms(), m.bytes_in_total.load(std::memory_order_relaxed),
           m.viewer_bytes_out_total.load(std::memory_order_relaxed), cpu_seconds(), rss_bytes()};
  std::lock_guard<std::mutex> lk(mu_);
  samples_.push_back(s);
  while (samples_.size() > kWindow + 1) samples_.pop_front();
}

ProcessSampler::Rates ProcessSampler::rates() const {
  std::lock_guard<std::mutex> lk(mu_);
  Rates r;
  if (samples_.empty()) return r;
  const Sample& last = samples_.back();
  r.rss_bytes = last.rss;
  if (samples_.size() < 2) return r;
  const Sample& first = samples_.front();
  const double dt = double(last.at_ms - first.at_ms) / 1000.0;
  if (dt <= 0) return r;
  r.window_s = dt;
  r.bytes_in_per_s = double(last.bytes_in - first.bytes_in) / dt;
  r.bytes_out_per_s = double(last.bytes_out - first.bytes_out) / dt;
  r.cpu_percent = 100.0 * (last.cpu_s - first.cpu_s) / dt;
  return r;
}

nlohmann::json config_json(const core::Config& config) {
  core::Config copy = config;
  nlohmann::json out = nlohmann::json::object();
  JsonDump d(out);
  copy.visit(d);
  return out;
}

void add_system_routes(http::Router& router, Origin& origin, const ProcessSampler& sampler, std::string version) {
  const int64_t started = core::wall_clock_ms();
  Origin* o = &origin;
  const ProcessSampler* ps = &sampler;
  auto g = admin_group(router, origin.config_store(), "system");
  g.add("GET", "/api/v1/summary", [o, ps, version, started](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!only_params(ex, {}, q)) return;
    const Metrics& m = o->metrics();
    const auto r = ps->rates();
    const int64_t now = core::wall_clock_ms();
    respond_json(
        ex, 200,
        {{"version", version},
         {"started_at", rfc3339_ms(started)},
         {"uptime_s", double(now - started) / 1000.0},
         {"loops", o->loops().size()},
         {"connections",
          {{"tcp", core::TcpConn::open_accepted()},
           {"srt", m.srt_connections_open.load()},
           {"publishers", m.publishers_open.load()},
           {"viewers", m.viewers_open.load()}}},
         {"streams", o->registry().list().size()},
         {"bytes_in", m.bytes_in_total.load()},
         {"bytes_out", m.viewer_bytes_out_total.load()},
         {"bitrate_in_bps", uint64_t(r.bytes_in_per_s * 8)},
         {"bitrate_out_bps", uint64_t(r.bytes_out_per_s * 8)},
         {"rate_window_s", r.window_s},
         {"cpu_percent", r.cpu_percent},
         {"rss_bytes", r.rss_bytes}});
  });
  g.add("GET", "/api/v1/config", [o](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!only_params(ex, {}, q)) return;
    nlohmann::json j = config_json(o->config());
    respond_json(ex, 200, {{"source", o->config().source_path},
                           {"generation", o->config_store().generation()},
                           {"config", std::move(j)}});
  });
}

}  // namespace weir::origin::api
