// Origin: the process-wide origin state (config, registry, one OriginLoop per
// event loop, metrics), and OriginLoop: what the origin keeps on each loop.
//
// Thread: Origin is created on the main thread before the loops start and is
// read-only afterwards (except its thread-safe members). OriginLoop methods
// run on their loop's thread, except enqueue(), which any thread may call.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/config_store.h"
#include "core/loop.h"
#include "core/connections_per_ip.h"
#include "core/histogram.h"
#include "core/memory_budget.h"
#include "origin/admission.h"
#include "origin/client_registry.h"
#include "origin/hub_packet.h"
#include "origin/metrics.h"
#include "origin/registry.h"
#include "origin/stream_blocks.h"
#include "origin/stream_observer.h"
#include "origin/play_alias.h"
#include "origin/stream_sources.h"

namespace weir::origin {

class HubPublisher;
class LoopHub;
class StreamHub;
namespace hls {
class HlsService;
}

class OriginLoop {
 public:
  // Hard cap on packets queued to this loop from publishers on other loops.
  // Overflow action: drop the packet and resync the LoopHub at the next sync
  // point (its viewers skip ahead; counted in weir_inbox_overflow_total).
  static constexpr size_t kInboxCap = 16384;

  OriginLoop(class Origin& origin, core::Loop& loop);
  ~OriginLoop();
  // Loop thread: creates the inbox wake-up and the backlog sweep timer.
  void start();

  core::Loop& loop() { return loop_; }
  // Loop thread: this loop's LoopHub for `hub` (attached on first use);
  // nullptr if the stream has ended.
  std::shared_ptr<LoopHub> attach(const std::shared_ptr<StreamHub>& hub);
  // Loop thread: detaches the LoopHub once it has no consumers left.
  void release_if_unused(LoopHub* lh);
  // Loop thread: forget a LoopHub that ended.
  void forget(LoopHub* lh);
  // Loop thread: ends this loop's mirror of a stream that ended. Packets
  // queued for it before the end (in the inbox, or appended and not yet
  // notified) reach its consumers first, so viewers on a loop other than the
  // publisher's get the stream's tail as the publisher's loop does (the end
  // task could otherwise run before the inbox wake-up).
  void end_hub(const std::shared_ptr<LoopHub>& lh, const std::string& why);

  // Any thread (under the hub lock): queue a packet for a LoopHub on this loop.
  void enqueue(const std::shared_ptr<LoopHub>& lh, const PacketRef& pkt);
  void wake();

  // How late this loop's 500 ms sweep timer fires: the time a callback that
  // hogs the loop makes every other client on it wait. Written on the loop,
  // read by /metrics on any thread (weir_loop_lag_seconds{loop}).
  static constexpr std::array<double, 9> kLagBounds{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
  const core::Histogram& lag() const { return lag_; }

  // Loop thread: `p` published packets; flush it once this iteration's I/O
  // callbacks are done (uv_check), unless it flushes itself first.
  void schedule_flush(HubPublisher* p);
  void cancel_flush(HubPublisher* p);

 private:
  struct Item {
    std::shared_ptr<LoopHub> lh;
    PacketRef pkt;
  };
  static void on_wake(uv_async_t* h);
  static void on_sweep(uv_timer_t* t);
  static void on_check(uv_check_t* c);
  void drain();

  class Origin& origin_;
  core::Loop& loop_;
  uv_async_t async_{};
  uv_timer_t sweep_{};
  uv_check_t check_{};
  uint64_t last_sweep_ns_ = 0;  // loop thread
  core::Histogram lag_{{kLagBounds.begin(), kLagBounds.end()}};
  std::vector<HubPublisher*> unflushed_;  // loop thread
  std::vector<HubPublisher*> flushing_;   // loop thread
  bool started_ = false;
  std::unordered_map<const StreamHub*, std::shared_ptr<LoopHub>> hubs_;

  std::mutex mu_;
  std::vector<Item> inbox_;      // guarded by mu_
  std::vector<std::shared_ptr<LoopHub>> overflowed_;  // guarded by mu_
  std::vector<Item> draining_;   // loop thread
  std::vector<std::shared_ptr<LoopHub>> touched_;  // loop thread: drain()'s scratch
};

class Origin {
 public:
  // `configs` outlives the Origin; a reload installs new generations there
  // (core/config_store.h). The second form keeps its own store of a copy of
  // `config` (unit tests).
  Origin(core::ConfigStore& configs, core::LoopGroup& loops);
  Origin(const core::Config& config, core::LoopGroup& loops);
  ~Origin();

  // The current config generation. Any thread; the reference is valid until
  // the caller returns to its loop: keep config_ptr() to hold it longer.
  const core::Config& config() const { return configs_.get(); }
  std::shared_ptr<const core::Config> config_ptr() const { return configs_.current(); }
  core::ConfigStore& config_store() { return configs_; }
  // The first generation: settings read once at start and not changed by a
  // reload (workers, rtmp.chunk_size, storage, srt, events). Any thread.
  const core::Config& startup_config() const { return configs_.first(); }
  // Main thread, after a reload installed `next`: counters for apps it adds,
  // and limits that apply to new connections (limits.max_connections_per_ip).
  void config_installed(const core::Config& next);
  Registry& registry() { return registry_; }
  Metrics& metrics() { return metrics_; }
  core::LoopGroup& loops() { return loops_; }
  OriginLoop& at(int loop_index) { return *loops_ctx_[size_t(loop_index)]; }
  // The calling loop's OriginLoop (loop threads only).
  OriginLoop& current();
  hls::HlsService& hls() { return *hls_; }
  // Asked before every publish and play (admission.h). Checks are added on
  // the main thread before the loops start.
  Admission& admission() { return admission_; }
  // Long-lived client connections (client_registry.h). Any thread.
  ClientRegistry& clients() { return clients_; }
  // The operator's publish blocks, enforced by an admission check. Any thread.
  StreamBlocks& blocks() { return blocks_; }
  // Bytes every ingest connection together may hold in partly received
  // messages (limits.ingest_buffer_bytes).
  core::MemoryBudget& ingest_budget() { return ingest_budget_; }
  // Connections per client address (limits.max_connections_per_ip), shared by
  // the RTMP, HTTP player and SRT listeners (not the admin API's).
  core::ConnectionsPerIp& connections_per_ip() { return connections_per_ip_; }

  // Modules that make streams live on demand (edge pull; stream_sources.h).
  // Sources are added on the main thread before the loops start.
  StreamSources& sources() { return sources_; }

  // Plays of one name that read another stream (play_alias.h). Main thread,
  // before the loops start; the alias outlives the loops.
  void add_play_alias(PlayAlias* a) { aliases_.push_back(a); }
  // The stream a play of app/stream reads: the first alias's answer, else
  // `stream`. Any thread.
  std::string play_hub_name(const core::AppConfig* app, const std::string& stream) const {
    if (app)
      for (const PlayAlias* a : aliases_)
        if (std::string hub = a->hub_for(*app, stream); !hub.empty()) return hub;
    return stream;
  }

  // Main thread, before the loops start; the observer outlives the loops.
  void add_observer(StreamObserver* o) { observers_.push_back(o); }
  // Fixed once the loops run: read without a lock.
  const std::vector<StreamObserver*>& observers() const { return observers_; }
  // The counters of the configured app `app` (by its key, app.name; an
  // AppConfig from elsewhere, as unit tests make, gets unexported spares).
  // Any thread. Counters live as long as the Origin: an app a reload removes
  // keeps its series.
  AppCounters& app_counters(const core::AppConfig& app) const;
  // By app key, for /metrics. Any thread.
  template <class F>
  void for_each_app_counters(F&& f) const {
    std::lock_guard<std::mutex> lk(app_counters_mu_);
    for (const auto& [name, counters] : app_counters_) f(name, *counters);
  }

  // Modules' Prometheus text (families with HELP/TYPE), appended to /metrics.
  // Added on the main thread before the loops start; a writer runs on any
  // HTTP loop and must be thread-safe.
  using MetricsWriter = std::function<void(std::string& out)>;
  void add_metrics_writer(MetricsWriter w) { metrics_writers_.push_back(std::move(w)); }
  const std::vector<MetricsWriter>& metrics_writers() const { return metrics_writers_; }

 private:
  Origin(std::unique_ptr<core::ConfigStore> owned, core::LoopGroup& loops);
  // `owned` is an rvalue reference so that `*owned` in the delegating call is
  // read before anything moves from it (argument order is unspecified).
  Origin(std::unique_ptr<core::ConfigStore>&& owned, core::ConfigStore& configs, core::LoopGroup& loops);

  std::unique_ptr<core::ConfigStore> owned_configs_;  // the second constructor's
  core::ConfigStore& configs_;
  core::LoopGroup& loops_;
  Registry registry_;
  StreamSources sources_{registry_};
  Metrics metrics_;
  StreamBlocks blocks_;  // before admission_, whose check reads it
  Admission admission_{*this};
  ClientRegistry clients_;
  core::MemoryBudget ingest_budget_;
  core::ConnectionsPerIp connections_per_ip_;
  std::vector<std::unique_ptr<OriginLoop>> loops_ctx_;
  std::vector<StreamObserver*> observers_;
  std::vector<PlayAlias*> aliases_;  // fixed once the loops run
  std::vector<MetricsWriter> metrics_writers_;
  mutable std::mutex app_counters_mu_;
  std::map<std::string, std::unique_ptr<AppCounters>, std::less<>> app_counters_;  // guarded by app_counters_mu_
  std::unique_ptr<AppCounters> unlisted_counters_ = std::make_unique<AppCounters>();
  std::unique_ptr<hls::HlsService> hls_;
};

}  // namespace weir::origin
