// RedisDiscovery: stream discovery across origins through one Redis
// (cluster.redis). Both halves live in every server that has it configured:
//
// - Origin half, a StreamObserver: a stream published here by an encoder
//   (any protocol but "edge": a stream this server pulls is not advertised,
//   an edge is not an origin) is recorded as
//   `SET <key_prefix><app>/<stream> <advertise_url> PX <ttl_ms>`, written
//   again every ttl_ms / 3 while it is live (which also restores it after
//   Redis lost it), and deleted when the stream ends, only if the key still
//   holds our URL (a Lua compare-and-delete, cluster/discovery_keys.h), so a
//   stream that moved to another origin keeps its key. A crashed origin's
//   keys expire after ttl_ms. Two origins publishing the same stream: the
//   last write wins (each refresh writes again).
// - Edge half, an edge::StreamLocator: `GET <key>` with the client's
//   deadline; found -> the URL goes first in the pull's round; nil -> not
//   found; anything else (down, slow, queue full, a malformed value) ->
//   unavailable, logged at most once per 10 s, and the edge uses its urls.
//
//   cluster::RedisDiscovery discovery(loops.at(0), cfg.cluster.redis, advertise_url);   // main thread
//   origin.add_observer(&discovery);
//   edge.set_locator(&discovery);
//   origin.add_metrics_writer([&](std::string& out) { discovery.write_metrics(out); });
//   loops.start(... if (loop.index() == 0) discovery.start(); ...)
//   ...
//   discovery.wait_idle(500);   // shutdown, after the streams ended, before loops.stop()
//
// Thread: the Redis connection and the refresh timer belong to `loop`; the
// observer callbacks and locate() run on any loop and hand their work to it
// with Loop::post. A refused post: a record waits for the next refresh, a
// deletion is left to the TTL, a lookup answers unavailable (each counted in
// weir_cluster_posts_refused_total). The set of advertised streams is under
// one mutex (taken per publish, end and refresh, never per packet).
// Bounds: one entry per stream published here; the Redis client's queue cap
// (cluster.redis.max_queued) bounds commands in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <memory>
#include <mutex>
#include <string>

#include "cluster/redis_client.h"
#include "core/config.h"
#include "core/log_limiter.h"
#include "core/timer.h"
#include "edge/stream_locator.h"
#include "origin/stream_observer.h"

namespace weir::cluster {

class RedisDiscovery final : public origin::StreamObserver, public edge::StreamLocator {
 public:
  // `advertise_url`: core::cluster_advertise_url of the config (empty: record nothing).
  RedisDiscovery(core::Loop& loop, const core::ClusterRedisConfig& cfg, std::string advertise_url);
  ~RedisDiscovery() override;

  // On `loop`'s thread, once it runs: connects and starts refreshing.
  void start();
  // Main thread, loops running: waits up to `ms` for the commands in flight
  // (the deletions of the streams just ended) to be answered.
  void wait_idle(int64_t ms);

  void on_stream_published(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) override;
  void on_stream_resumed(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) override;
  void on_stream_ended(const std::shared_ptr<origin::StreamHub>& s, const std::string& why) override;

  void locate(core::Loop& loop, const std::string& app, const std::string& stream,
              std::function<void(edge::Located)> done) override;
  int64_t wait_ms() const override { return int64_t(cfg_.timeout_ms); }

  // Prometheus families weir_cluster_*. Any thread.
  void write_metrics(std::string& out) const;

 private:
  void advertise(const std::shared_ptr<origin::StreamHub>& s);
  void run(std::function<void()> task);  // on loop_, now if already there
  void record(const std::string& key);   // loop_ only
  void refresh();                        // loop_ only
  void unavailable(const std::string& why);  // loop_ only

  core::Loop& loop_;
  const core::ClusterRedisConfig cfg_;
  const std::string url_;
  std::unique_ptr<RedisClient> client_;
  core::Timer refresh_;
  core::LogLimiter log_limit_{10000};  // loop_ only

  mutable std::mutex mu_;
  std::set<std::string> live_;  // guarded by mu_: keys of the streams advertised

  std::atomic<uint64_t> found_{0}, not_found_{0}, unavailable_{0}, posts_refused_{0}, record_errors_{0};
  std::atomic<int64_t> in_flight_{0};  // tasks posted to loop_ and not run yet
};

}  // namespace weir::cluster
