// ForwardService: restream, and publish at an edge. A StreamObserver
// (origin/stream_observer.h): when a stream is published in an app with
// apps.<app>.forward.urls, it starts one ForwardTarget per destination
// (edge/forward_target.h) on the publisher's loop; when an encoder publishes
// on an edge app (upstream.urls, upstream.publish: forward), one more target
// pushes the stream to one of the app's origins (its rtmp:// and rtmps://
// templates, in the policy's order, failing over; http:// ones cannot take a
// publish and are skipped), while local viewers play it from the local hub.
// Streams the edge pulls (publisher "edge") are not pushed back. The admin
// API adds destinations to a live stream (on the API request's loop) and
// removes any of them for the life of that publish. A target ends with its
// stream; the service only lists the targets alive.
//
// Loops: every destination URL carries the chain of nodes the stream passed
// (the publisher's weir_via, then this node: edge/via.h), unless the app's
// forward.send_via is false (upstream pushes always carry it), so a Weir
// destination already in the chain refuses it (edge/loop_check.h).
//
//   edge::ForwardService forward(origin, client_tls);    // main thread
//   origin.add_observer(&forward);
//   origin.add_metrics_writer([&forward](std::string& out) { forward.write_metrics(out); });
//   ...
//   forward.stop_all();                                   // shutdown, loops running
//
// Threads: observer callbacks on the publisher's loop; add() on an API loop;
// remove(), list(), write_metrics() on any thread; targets call back on
// their own loop. The destination table and each entry's state are under
// mu_ (taken per state change and API call, never per packet); byte and drop
// counters are atomics. A ForwardEntry's `target` is touched only on
// `loop`'s thread (a removal is posted there).
// Lifetime: outlives the loops' work (declared after Origin in main).
// Bounds: at most kMaxForwards destinations in all; add() refuses past it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/status.h"
#include "edge/forward_target.h"
#include "origin/stream_observer.h"

namespace weir::core {
class TlsContext;
struct ForwardConfig;
}
namespace weir::origin {
class Origin;
}
namespace weir::ingest::srt {
class SrtBridge;
}

namespace weir::edge {

class OriginHealth;

enum class ForwardState { kConnecting, kForwarding, kBackoff };
const char* to_string(ForwardState s);

// Why a destination exists: apps.<app>.forward.urls, the admin API, or an
// edge's publish to its origins (apps.<app>.upstream.publish: forward).
enum class ForwardSource { kConfig, kApi, kUpstream };
const char* to_string(ForwardSource s);

// One destination of one live stream.
struct ForwardEntry {
  std::string id, app, stream;
  ForwardSource source = ForwardSource::kConfig;
  int64_t created_ms = 0;  // wall clock
  core::Loop* loop = nullptr;
  ForwardTarget* target = nullptr;  // `loop`'s thread only; null once ended
  // Under ForwardService::mu_:
  ForwardState state = ForwardState::kConnecting;
  int64_t since_ms = 0;  // wall clock of the last state change
  std::string last_error;
  std::string url_shown;  // the destination tried now (redact_forward_url: never the key)
  // Any thread:
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> dropped_frames{0};
  std::atomic<uint64_t> queued_bytes{0};  // waiting unsent to the destination now (capped: max_queued_bytes)
};

// A destination as the API shows it.
struct ForwardInfo {
  std::string id, app, stream, url;
  ForwardSource source = ForwardSource::kConfig;
  ForwardState state = ForwardState::kConnecting;
  int64_t created_ms = 0, since_ms = 0;
  std::string last_error;
  uint64_t bytes_out = 0, reconnects = 0, dropped_frames = 0, queued_bytes = 0;
};

class ForwardService final : public origin::StreamObserver {
 public:
  static constexpr size_t kMaxForwards = 4096;

  // `node_id`: this node's name in the chains it sends (edge/via.h).
  // `health`: the edge's origins (EdgePuller's), shared with the pulls: an
  // origin that fails a push is tried last by pulls too, and the other way round.
  ForwardService(origin::Origin& origin, std::shared_ptr<const core::TlsContext> tls, std::string node_id,
                 OriginHealth& health);
  ~ForwardService() override;

  void on_stream_published(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) override;
  // An encoder took the stream over from the edge's pull: it is pushed to an origin from now on.
  void on_stream_resumed(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) override;
  void on_stream_ended(const std::shared_ptr<origin::StreamHub>& s, const std::string& why) override;

  // API loop: pushes the live stream app/stream to `url` (a template or a
  // plain rtmp[s]:// or srt:// URL) from now on, with the app's forward settings.
  // Errors: "not_found: ..." (not live), "bad_url: ..." (the reason),
  // "unavailable: ..." (kMaxForwards reached).
  core::Result<ForwardInfo> add(const std::string& app, const std::string& stream, const std::string& url);
  // Any thread: stops destination `id` of app/stream. "not_found: ..." if
  // that stream has no such destination; "unavailable: ..." if its loop is
  // stopping. The entry is gone from lists when this returns.
  core::Status remove(const std::string& app, const std::string& stream, const std::string& id);
  // Any thread: destinations with an id after `after`, of app/stream when
  // given (empty: all), up to `limit`; `more` when others follow.
  std::vector<ForwardInfo> list(const std::string& app, const std::string& stream, const std::string& after,
                                size_t limit, bool& more) const;
  // Prometheus text (weir_forward_*). Any thread.
  void write_metrics(std::string& out) const;
  // Main thread, loops running: stops every target, waits (up to 3 s).
  void stop_all();

  origin::Origin& origin() { return origin_; }
  // Main thread, before the loops start: the process's SRT bridge, for
  // srt:// destinations (null: they fail and back off with a log line).
  void set_srt_bridge(ingest::srt::SrtBridge* b) { srt_bridge_ = b; }
  ingest::srt::SrtBridge* srt_bridge() const { return srt_bridge_; }

  // For ForwardTarget (its loop) -------------------------------------------
  const std::shared_ptr<const core::TlsContext>& tls() const { return tls_; }
  // `shown`: the destination now tried (a failover changes it), if not empty.
  void set_state(ForwardEntry& e, ForwardState s, const std::string& error, const std::string& shown = {});
  void count_dropped(ForwardEntry& e, uint64_t frames);
  void count_failover() { failovers_.fetch_add(1, std::memory_order_relaxed); }
  // The target is gone (stream end, removal, shutdown): forgets the entry.
  void target_ended(const std::shared_ptr<ForwardEntry>& e);
  void target_destroyed() { targets_alive_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  // Creates the entry and its target on the calling loop (`hub`'s stream).
  core::Result<ForwardInfo> start(const std::shared_ptr<origin::StreamHub>& hub, ForwardRoute route,
                                  const core::ForwardConfig& cfg, ForwardSource source);
  // The edge's push of an encoder's stream to its origins, if the app has one.
  void start_upstream(const std::shared_ptr<origin::StreamHub>& hub, const origin::PublishEvent& e);
  // The chain to send for a stream published with `params` (this node last).
  std::string chain_for(const protocol::QueryParams* params) const;
  // One destination `url` (expanded) with `chain` added when the app sends it.
  ForwardDestination destination(const std::string& url, const std::string& stream, const std::string& chain,
                                 bool send_via) const;
  static ForwardInfo info(const ForwardEntry& e);  // mu_ held

  origin::Origin& origin_;
  std::shared_ptr<const core::TlsContext> tls_;
  const std::string node_id_;
  OriginHealth& health_;
  ingest::srt::SrtBridge* srt_bridge_ = nullptr;  // fixed once the loops run
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ForwardEntry>> entries_;  // by id (ordered: cursors); guarded by mu_
  // The chain each live stream's destinations get (by "app/stream"; erased
  // at its end: one per live stream); guarded by mu_.
  std::map<std::string, std::string> chains_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<int64_t> targets_alive_{0};
  std::atomic<uint64_t> started_{0}, reconnects_{0}, dropped_frames_{0}, refused_{0}, failovers_{0};
  std::atomic<uint64_t> tickets_{0};
  std::atomic<uint64_t> bytes_ended_{0};  // bytes_out of entries already gone
};

}  // namespace weir::edge
