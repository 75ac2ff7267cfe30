// EdgePuller: the edge's StreamSource (origin/stream_sources.h). When a
// viewer on any loop, any protocol, misses a stream of an app with
// `upstream.urls` (or `upstream.discover` with a locator), the origin's
// source table tells it once; it starts one
// UpstreamPull for that stream on that viewer's loop, which publishes into
// the local hub like an encoder. The pull ends (and releases the key, so the
// next miss asks again) idle_ms after its last viewer, when every origin
// failed before the stream ever started, or when the stream is dropped here.
//
//   edge::EdgePuller edge(origin, client_tls, node_id);   // main thread
//   origin.sources().add(&edge);
//   origin.add_metrics_writer([&edge](std::string& out) { edge.write_metrics(out); });
//   ...
//   edge.stop_all();                                // shutdown, while the loops run
//
// Thread: serves()/want() on any loop (want(): the pull goes on the calling
// loop, or loop 0 from a thread without one); write_metrics() any thread;
// stop_all() on the main thread. Pulls are listed under one mutex (taken per
// pull start and end, never per packet).
// Lifetime: outlives the loops' work (declared after Origin in main); every
// pull has ended when stop_all() returns (or it names those that did not).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "edge/origin_health.h"
#include "edge/stream_locator.h"
#include "origin/stream_sources.h"

namespace weir::core {
class TlsContext;
}
namespace weir::origin {
class Origin;
}
namespace weir::ingest::srt {
class SrtBridge;
}

namespace weir::edge {

class UpstreamPull;

class EdgePuller final : public origin::StreamSource {
 public:
  // `node_id`: this node's name in the chains it sends upstream (edge/via.h).
  EdgePuller(origin::Origin& origin, std::shared_ptr<const core::TlsContext> tls, std::string node_id);
  ~EdgePuller() override;

  int64_t serves(const core::AppConfig& app, std::string_view stream) const override;
  // The pull sends the first viewer's chain (weir_via) with this node added.
  void want(const std::string& app, const std::string& stream, const origin::AdmissionRequest& first) override;

  // Main thread, before the loops start: where apps with upstream.discover
  // look streams up first (null: nowhere; such apps pull from urls only).
  void set_locator(StreamLocator* l) { locator_ = l; }
  // Main thread, before the loops start: the process's SRT bridge, for
  // srt:// upstreams (null: they fail with a log line).
  void set_srt_bridge(ingest::srt::SrtBridge* b) { srt_bridge_ = b; }
  ingest::srt::SrtBridge* srt_bridge() const { return srt_bridge_; }

  // Prometheus text: per-origin health and pull counters. Any thread.
  void write_metrics(std::string& out) const;
  // Main thread, loops running: stops every pull and waits (up to 3 s) for them.
  void stop_all();

  // For UpstreamPull ----------------------------------------------------------
  origin::Origin& origin() { return origin_; }
  OriginHealth& health() { return health_; }
  const std::shared_ptr<const core::TlsContext>& tls() const { return tls_; }
  const std::string& node_id() const { return node_id_; }
  // The locator if `app` looks streams up (upstream.discover), else null.
  StreamLocator* locator_for(const core::AppConfig& app) const;
  uint64_t next_ticket() { return tickets_.fetch_add(1, std::memory_order_relaxed); }
  // The pull's loop, from the pull as it ends (it is freed after): forgets it
  // and releases the stream key (`failure` non-empty: viewers waiting get it).
  void pull_ended(UpstreamPull* p, const std::string& failure);
  std::atomic<uint64_t> failovers_total{0};  // a pull that lost its origin and resumed on another

 private:
  origin::Origin& origin_;
  std::shared_ptr<const core::TlsContext> tls_;
  const std::string node_id_;
  StreamLocator* locator_ = nullptr;  // fixed once the loops run
  ingest::srt::SrtBridge* srt_bridge_ = nullptr;  // fixed once the loops run
  OriginHealth health_;
  std::atomic<uint64_t> tickets_{0};
  std::atomic<uint64_t> pulls_started_{0};
  std::atomic<uint64_t> pulls_failed_{0};
  mutable std::mutex mu_;
  std::map<std::string, UpstreamPull*> pulls_;  // by "app/stream"; guarded by mu_
};

}  // namespace weir::edge
