#include "edge/origin_health.h"

#include <fmt/format.h>

#include <chrono>

#include "edge/upstream_url.h"

namespace weir::edge {

namespace {
// Prometheus label value escaping (text format 0.0.4: backslash, quote, newline).
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

int64_t OriginHealth::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

OriginHealth::Entry& OriginHealth::at(const std::string& tmpl) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& e = entries_[tmpl];
  if (!e) e = std::make_unique<Entry>();
  return *e;
}

std::vector<bool> OriginHealth::healthy(const std::vector<std::string>& tmpls, int64_t now_ms) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<bool> out;
  for (const std::string& t : tmpls) {
    auto it = entries_.find(t);
    out.push_back(it == entries_.end() || !it->second->down || it->second->down_until_ms <= now_ms);
  }
  return out;
}

void OriginHealth::connected(Entry& e, bool push) {
  std::lock_guard<std::mutex> lk(mu_);
  e.ever_connected = true;
  e.down = false;
  e.down_rounds = 0;
  ++(push ? e.pushes : e.streams);
}

void OriginHealth::ended(Entry& e, bool was_streaming, const std::string& error, bool down, int64_t now_ms,
                         int64_t base_ms, int64_t max_ms, bool push) {
  std::lock_guard<std::mutex> lk(mu_);
  if (was_streaming) --(push ? e.pushes : e.streams);
  if (error.empty()) return;
  ++e.failures;
  e.last_error = error;
  if (!down) return;
  e.down = true;
  e.down_until_ms = now_ms + upstream_backoff_ms(base_ms, max_ms, e.down_rounds);
  if (e.down_rounds < 32) ++e.down_rounds;
}

std::vector<OriginHealth::View> OriginHealth::list(const std::string& after, size_t limit, int64_t now_ms,
                                                   bool& more) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<View> out;
  more = false;
  for (auto it = entries_.upper_bound(after); it != entries_.end(); ++it) {
    if (out.size() == limit) {
      more = true;
      break;
    }
    const Entry& e = *it->second;
    out.push_back(View{it->first, e.ever_connected, e.down, e.down && e.down_until_ms > now_ms ? e.down_until_ms - now_ms : 0,
                       e.failures, e.bytes.load(std::memory_order_relaxed), e.streams, e.pushes, e.last_error});
  }
  return out;
}

void OriginHealth::write_metrics(std::string& out) const {
  std::lock_guard<std::mutex> lk(mu_);
  if (entries_.empty()) return;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [url, e] : entries_) out += fmt::format("{}{{origin=\"{}\"}} {}\n", name, label(url), value(*e));
  };
  family("weir_edge_origin_up", "gauge", "1 unless the origin's last pull failed on the connection (0: down, tried last).",
         [](const Entry& e) { return e.down ? 0 : 1; });
  family("weir_edge_origin_failures_total", "counter",
         "Pulls from and pushes to the origin that failed (connect, stall, refusal, stream ended).",
         [](const Entry& e) { return e.failures; });
  family("weir_edge_origin_received_bytes_total", "counter", "Bytes received from the origin.",
         [](const Entry& e) { return e.bytes.load(std::memory_order_relaxed); });
  family("weir_edge_origin_streams", "gauge", "Streams pulled from the origin now.",
         [](const Entry& e) { return e.streams; });
  family("weir_edge_origin_pushes", "gauge", "Streams published at this edge and pushed to the origin now.",
         [](const Entry& e) { return e.pushes; });
  out += "# HELP weir_edge_origin_last_error_info The origin's last pull error (value 1).\n"
         "# TYPE weir_edge_origin_last_error_info gauge\n";
  for (const auto& [url, e] : entries_)
    if (!e->last_error.empty())
      out += fmt::format("weir_edge_origin_last_error_info{{origin=\"{}\",error=\"{}\"}} 1\n", label(url),
                         label(e->last_error.substr(0, 200)));
}

}  // namespace weir::edge
