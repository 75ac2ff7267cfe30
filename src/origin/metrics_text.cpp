#include "origin/metrics_text.h"

#include <algorithm>
#include <functional>
#include <tuple>

#include <fmt/format.h>

#include "core/tcp_conn.h"
#include "origin/http/http_counters.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::origin {

namespace {
void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}
}  // namespace

// Per-stream series for the first limits.metrics_max_streams streams by
// app/name; the count of the others in weir_stream_series_omitted.
void write_stream_series(Origin& origin, const std::vector<std::shared_ptr<StreamHub>>& streams, std::string& out) {
  std::vector<StreamStats> stats;
  for (const auto& hub : streams) stats.push_back(hub->stats());
  std::sort(stats.begin(), stats.end(),
            [](const StreamStats& a, const StreamStats& b) { return std::tie(a.app, a.name) < std::tie(b.app, b.name); });
  const size_t cap = size_t(origin.config().limits.metrics_max_streams);
  const size_t shown = std::min(cap, stats.size());
  metric(out, "weir_stream_series_omitted", "gauge",
         "Streams left out of the weir_stream_* series (past limits.metrics_max_streams).",
         double(stats.size() - shown));
  if (shown == 0) return;
  const auto players = origin.clients().players_by_stream();
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(const StreamStats&)> value;
  };
  const Family families[] = {
      {"weir_stream_players", "gauge", "Players of the stream connected now (every protocol but HLS).",
       [&players](const StreamStats& s) {
         auto it = players.find(s.app + "/" + s.name);
         return it == players.end() ? 0.0 : double(it->second);
       }},
      {"weir_stream_bytes_in_total", "counter", "Media payload bytes the stream's publishers sent.",
       [](const StreamStats& s) { return double(s.bytes); }},
      {"weir_stream_video_frames_total", "counter", "Video frames received.",
       [](const StreamStats& s) { return double(s.video_frames); }},
      {"weir_stream_publishes_total", "counter", "Publisher sessions so far (reconnects + 1).",
       [](const StreamStats& s) { return double(s.publishes); }},
      {"weir_stream_live", "gauge", "1 while a publisher is attached, 0 in the reconnect grace.",
       [](const StreamStats& s) { return s.live ? 1.0 : 0.0; }},
  };
  for (const Family& f : families) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (size_t i = 0; i < shown; ++i)
      fmt::format_to(std::back_inserter(out), "{}{{app=\"{}\",stream=\"{}\"}} {}\n", f.name, stats[i].app,
                     stats[i].name, f.value(stats[i]));
  }
}

std::string metrics_text(Origin& origin) {
  const Metrics& m = origin.metrics();
  std::string out;
  out.reserve(4096);
  auto c = [&](const char* name, const char* help, const Metrics::Counter& v) {
    metric(out, name, "counter", help, double(v.load(std::memory_order_relaxed)));
  };
  c("weir_publishes_total", "Publisher sessions accepted.", m.publishes_total);
  c("weir_publish_refused_total", "Publish or connect attempts refused.", m.publish_refused_total);
  c("weir_republish_total", "Publishers that came back within the reconnect grace.", m.republish_total);
  c("weir_takeovers_total", "Publishers replaced by a new publisher.", m.takeovers_total);
  c("weir_streams_ended_total", "Streams that ended.", m.streams_ended_total);
  c("weir_packets_in_total", "Media packets received from publishers.", m.packets_in_total);
  c("weir_bytes_in_total", "Media payload bytes received from publishers.", m.bytes_in_total);
  c("weir_viewers_total", "Viewer sessions started.", m.viewers_total);
  c("weir_viewer_skips_total", "Times a lagging viewer skipped ahead to the newest keyframe.", m.viewer_skips_total);
  c("weir_viewers_slow_closed_total", "Viewers closed for exceeding the backlog cap.", m.viewers_slow_closed_total);
  c("weir_viewer_bytes_out_total", "Bytes queued to viewers.", m.viewer_bytes_out_total);
  c("weir_inbox_overflow_total", "Packets dropped at a full cross-loop inbox.", m.inbox_overflow_total);
  c("weir_sessions_rejected_total", "Sessions closed for malformed input.", m.sessions_rejected_total);
  c("weir_admission_denied_total", "Publish and play requests refused by an admission check (bad name, unknown app, already published, access rules).", m.admission_denied_total);
  c("weir_srt_connections_total", "SRT connections accepted.", m.srt_connections_total);
  c("weir_srt_rejected_total", "SRT connections refused during the handshake.", m.srt_rejected_total);
  c("weir_srt_input_dropped_total", "SRT publisher datagram batches dropped at a full input queue.",
    m.srt_input_dropped_total);
  c("weir_srt_ts_cc_errors_total", "MPEG-TS continuity counter gaps in SRT input.", m.srt_ts_cc_errors_total);
  c("weir_srt_ts_resyncs_total", "MPEG-TS sync losses in SRT input.", m.srt_ts_resyncs_total);
  c("weir_srt_ts_errors_total", "Damaged MPEG-TS packets or sections in SRT input (dropped).", m.srt_ts_errors_total);
  c("weir_srt_ts_pes_dropped_total", "PES packets dropped from SRT input (lost packets, too large, bad header).",
    m.srt_ts_pes_dropped_total);
  out += "# HELP weir_auth_denied_total Publish and play requests refused for a missing, malformed, expired or "
         "invalid signed-URL token.\n# TYPE weir_auth_denied_total counter\n";
  for (size_t p = 0; p < Metrics::kAuthProtocols; ++p)
    for (size_t r = 1; r < Metrics::kAuthReasons; ++r)  // 0 is kOk
      fmt::format_to(std::back_inserter(out), "weir_auth_denied_total{{protocol=\"{}\",reason=\"{}\"}} {}\n",
                     access_protocol_name(AccessProtocol(p)), protocol::token_verdict_name(protocol::TokenVerdict(r)),
                     m.auth_denied_by[p * Metrics::kAuthReasons + r].load(std::memory_order_relaxed));
  for (size_t p = 0; p < Metrics::kAuthProtocols; ++p)
    for (size_t r = 0; r < Metrics::kAccessReasons; ++r)
      fmt::format_to(std::back_inserter(out), "weir_auth_denied_total{{protocol=\"{}\",reason=\"{}\"}} {}\n",
                     access_protocol_name(AccessProtocol(p)), r == size_t(Metrics::AccessDenial::kIp) ? "ip" : "referer",
                     m.access_denied_by[p * Metrics::kAccessReasons + r].load(std::memory_order_relaxed));
  fmt::format_to(std::back_inserter(out),
                 "# HELP weir_connections_refused_total Connections closed or refused at accept, by reason (per_ip: "
                 "the address holds limits.max_connections_per_ip; RTMP, HTTP players, SRT).\n"
                 "# TYPE weir_connections_refused_total counter\nweir_connections_refused_total{{reason=\"per_ip\"}} {}\n",
                 origin.connections_per_ip().refused());
  out += "# HELP weir_handshake_failures_total Connections that ended before their handshake completed (RTMP "
         "handshake, TLS), by reason.\n# TYPE weir_handshake_failures_total counter\n";
  for (size_t p = 0; p < Metrics::kHandshakeProtocols; ++p)
    for (size_t f = 0; f < Metrics::kHandshakeFailures; ++f) {
      static constexpr const char* kProtocols[] = {"rtmp", "rtmps"};
      static constexpr const char* kReasons[] = {"malformed", "timeout", "closed", "tls"};
      if (p == size_t(Metrics::HandshakeProtocol::kRtmp) && f == size_t(Metrics::HandshakeFailure::kTls)) continue;
      fmt::format_to(std::back_inserter(out), "weir_handshake_failures_total{{protocol=\"{}\",reason=\"{}\"}} {}\n",
                     kProtocols[p], kReasons[f],
                     m.handshake_failures_by[p * Metrics::kHandshakeFailures + f].load(std::memory_order_relaxed));
    }
  const http::HttpCounters& hc = http::http_counters();
  fmt::format_to(std::back_inserter(out), "weir_handshake_failures_total{{protocol=\"https\",reason=\"tls\"}} {}\n",
                 hc.tls_failures_total.load(std::memory_order_relaxed));
  out += "# HELP weir_http_responses_total HTTP answers (players' and admin listeners), by status class.\n"
         "# TYPE weir_http_responses_total counter\n";
  for (int cls = 1; cls <= 5; ++cls)
    fmt::format_to(std::back_inserter(out), "weir_http_responses_total{{class=\"{}xx\"}} {}\n", cls,
                   hc.requests_by_class[cls].load(std::memory_order_relaxed));
  metric(out, "weir_http_bad_requests_total", "counter", "HTTP requests refused as malformed or over a limit.",
         double(hc.bad_requests_total.load(std::memory_order_relaxed)));
  metric(out, "weir_http_request_timeouts_total", "counter", "HTTP requests not complete within http.request_timeout_ms.",
         double(hc.request_timeouts_total.load(std::memory_order_relaxed)));
  metric(out, "weir_http_connections", "gauge", "HTTP connections open now (players' and admin listeners).",
         double(hc.open_connections.load(std::memory_order_relaxed)));
  metric(out, "weir_websocket_connections", "gauge", "WebSocket (WS-FLV) connections open now.",
         double(hc.websocket_connections.load(std::memory_order_relaxed)));
  metric(out, "weir_ingest_buffer_bytes", "gauge", "Bytes RTMP connections hold in partly received messages.",
         double(origin.ingest_budget().used()));
  metric(out, "weir_ingest_buffer_refused_total", "counter",
         "Connections closed because their message would pass limits.ingest_buffer_bytes.",
         double(origin.ingest_budget().refused()));
  metric(out, "weir_srt_connections", "gauge", "SRT connections open now.", double(m.srt_connections_open.load()));
  metric(out, "weir_viewers", "gauge", "Viewers connected now.", double(m.viewers_open.load()));
  metric(out, "weir_publishers", "gauge", "Publishers connected now.", double(m.publishers_open.load()));
  out += "# HELP weir_clients Client connections open now (client_registry.h), by protocol and role.\n"
         "# TYPE weir_clients gauge\n";
  const std::vector<uint64_t> clients = origin.clients().counts();
  for (size_t i = 0; i < clients.size(); ++i)
    if (clients[i] || AccessProtocol(i / 2) <= AccessProtocol::kHttpTs)
      fmt::format_to(std::back_inserter(out), "weir_clients{{protocol=\"{}\",role=\"{}\"}} {}\n",
                     access_protocol_name(AccessProtocol(i / 2)), client_role_name(ClientRole(i % 2 ? 1 : 0)),
                     clients[i]);
  const auto streams = origin.registry().list();
  metric(out, "weir_streams", "gauge", "Streams known now (live or in reconnect grace).", double(streams.size()));
  write_stream_series(origin, streams, out);
  metric(out, "weir_connections", "gauge", "Accepted TCP connections open now.", double(core::TcpConn::open_accepted()));
  uint64_t refused = 0;
  for (size_t i = 0; i < origin.loops().size(); ++i) refused += origin.loops().at(i).tasks_refused();
  metric(out, "weir_loop_tasks_refused_total", "counter", "Cross-loop tasks refused at a full queue.", double(refused));
  out += "# HELP weir_app_bytes_in_total Media payload bytes received from publishers, by configured app (\"*\": "
         "every app the wildcard serves).\n# TYPE weir_app_bytes_in_total counter\n";
  origin.for_each_app_counters([&out](const std::string& app, const AppCounters& c) {
    fmt::format_to(std::back_inserter(out), "weir_app_bytes_in_total{{app=\"{}\"}} {}\n", app,
                   c.bytes_in.load(std::memory_order_relaxed));
  });
  out += "# HELP weir_app_bytes_out_total Bytes queued to RTMP, SRT, HTTP-FLV, WS-FLV and .ts viewers, by configured "
         "app.\n# TYPE weir_app_bytes_out_total counter\n";
  origin.for_each_app_counters([&out](const std::string& app, const AppCounters& c) {
    fmt::format_to(std::back_inserter(out), "weir_app_bytes_out_total{{app=\"{}\"}} {}\n", app,
                   c.bytes_out.load(std::memory_order_relaxed));
  });
  out += "# HELP weir_loop_lag_seconds How late each event loop's 500 ms timer fired: what a busy loop makes its "
         "clients wait.\n# TYPE weir_loop_lag_seconds histogram\n";
  for (size_t i = 0; i < origin.loops().size(); ++i)
    origin.at(int(i)).lag().write(out, "weir_loop_lag_seconds", fmt::format("loop=\"{}\"", i));
  for (const auto& w : origin.metrics_writers()) w(out);
  return out;
}

}  // namespace weir::origin
