// weir: wiring only. Loads the config, starts the loops, opens the listeners
// (sinks before sources: the origin's per-loop state exists before any
// ingest or play connection can arrive), waits for a signal, shuts down.
#include <signal.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#ifdef WEIR_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "client/event_sender.h"
#include "cluster/redis_discovery.h"
#include "core/config.h"
#include "core/config_store.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/tls.h"
#include "core/worker_pool.h"
#include "edge/edge_publish_check.h"
#include "edge/edge_puller.h"
#include "edge/loop_check.h"
#include "edge/forward_api.h"
#include "edge/forward_service.h"
#include "edge/upstream_api.h"
#include "edge/via.h"
#include "ingest/rtmp/rtmp_server.h"
#include "ingest/srt/srt_server.h"
#include "origin/api/admin_api.h"
#include "origin/api/client_api.h"
#include "origin/api/system_api.h"
#include "origin/http/http_server.h"
#include "origin/origin.h"
#include "origin/routes.h"
#include "origin/signed_url_list.h"
#include "origin/stream_events.h"
#include "hooks/callback_check.h"
#include "record/asset_store.h"
#include "record/record_api.h"
#include "record/record_service.h"
#include "record/vod_routes.h"
#include "server/listener_set.h"
#include "server/reload_api.h"
#include "transcode/master_playlist.h"
#include "transcode/mix_api.h"
#include "transcode/mix_service.h"
#include "transcode/transcode_api.h"
#include "transcode/transcode_service.h"
#include "server/reloader.h"
#include "transcode/snapshot_periodic.h"
#include "transcode/snapshot_service.h"
#include "weir_openapi.h"

extern char** environ;

namespace {

void usage() {
  std::puts(
      "usage: weir [-c FILE] [--check-config] [--print-keys] [--version]\n"
      "       weir sign [-c FILE] --app APP --stream STREAM [--direction play|publish] [--ttl SECONDS] [--ip IP]\n"
      "                 [--host HOST]   print signed URLs of every protocol (apps.APP.sign)\n"
      "  -c, --config FILE   YAML config (default: conf/weir.yaml)\n"
      "  --check-config      validate the config (with WEIR_* overrides) and exit; non-zero on error\n"
      "  --print-keys        list every config key with its documentation and exit\n"
      "  --version           print the version and exit\n"
      "Environment: WEIR_<KEY_PATH> overrides a key, e.g. WEIR_RTMP_LISTEN=127.0.0.1:19350 sets rtmp.listen.");
}

std::string allocator_name() {
#ifdef WEIR_WITH_JEMALLOC
  const char* v = nullptr;
  size_t len = sizeof(v);
  if (mallctl("version", &v, &len, nullptr, 0) == 0 && v) return std::string("jemalloc ") + v;
  return "jemalloc";
#else
  return "system malloc";
#endif
}

// `weir sign`: signed URLs for every protocol of an app/stream, one
// "NAME URL" line each, from the config (with WEIR_* overrides) and the app's
// primary key. Exit 0, 1 (config or signing error), 2 (usage).
int sign_main(int argc, char** argv) {
  std::string config_path = "conf/weir.yaml";
  weir::origin::SignUrlRequest r;
  int64_t ttl = 3600;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if ((a == "-c" || a == "--config") && has_value) config_path = argv[++i];
    else if (a == "--app" && has_value) r.app = argv[++i];
    else if (a == "--stream" && has_value) r.stream = argv[++i];
    else if (a == "--ip" && has_value) r.ip = argv[++i];
    else if (a == "--host" && has_value) r.host = argv[++i];
    else if (a == "--direction" && has_value) {
      std::string d = argv[++i];
      if (d != "play" && d != "publish") {
        std::fprintf(stderr, "weir sign: --direction must be play or publish\n");
        return 2;
      }
      r.direction = d == "publish" ? weir::origin::Direction::kPublish : weir::origin::Direction::kPlay;
    } else if (a == "--ttl" && has_value) {
      char* end = nullptr;
      ttl = std::strtoll(argv[++i], &end, 10);
      if (!end || *end || ttl <= 0 || ttl > 10LL * 365 * 86400) {
        std::fprintf(stderr, "weir sign: --ttl must be a number of seconds from 1 to 315360000\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "weir sign: unknown or incomplete argument '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (r.app.empty() || r.stream.empty()) {
    std::fprintf(stderr, "weir sign: --app and --stream are required\n");
    return 2;
  }
  auto loaded = weir::core::load_config_file(config_path, environ);
  if (!loaded) {
    std::fprintf(stderr, "weir: %s\n", loaded.error().c_str());
    return 1;
  }
  r.expires = std::time(nullptr) + ttl;
  auto urls = weir::origin::signed_urls(*loaded, r);
  if (!urls) {
    std::fprintf(stderr, "weir sign: %s\n", urls.error().c_str());
    return 1;
  }
  for (const auto& u : *urls) std::printf("%-9s %s\n", u.name.c_str(), u.url.c_str());
  return 0;
}

}  // namespace

// Every connection, listener and live HLS segment (a memfd) costs a
// descriptor: take the hard limit, as nginx's worker_rlimit_nofile would, and
// warn when it is below the connection cap.
void raise_fd_limit(int64_t max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  const auto needed = rlim_t(max_connections > 0 ? max_connections : 0);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed)
    spdlog::warn("open-file limit is {} (hard limit {}): below limits.max_connections ({}); raise it "
                 "(ulimit -n, LimitNOFILE=) or lower limits.max_connections", rl.rlim_cur, rl.rlim_max, needed);
}

// Main thread, at shutdown: waits while `busy()` and less than `ms` passed,
// logging `what` first. False when a second signal cut the wait short.
template <class Busy>
bool wait_while(const sigset_t& sigs, int64_t ms, Busy busy, const std::string& what) {
  if (ms <= 0 || !busy()) return true;
  spdlog::info("shutdown: {}", what);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (busy() && std::chrono::steady_clock::now() < deadline) {
    timespec tick{0, 100 * 1000 * 1000};
    if (int s = sigtimedwait(&sigs, nullptr, &tick); s > 0) {
      spdlog::warn("signal {} again: stopping now", strsignal(s));
      return false;
    }
  }
  return true;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "sign") return sign_main(argc, argv);
  std::string config_path = "conf/weir.yaml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--version" || a == "-v") {
      std::printf("weir %s (%s, libuv %s)\n", WEIR_VERSION, allocator_name().c_str(), uv_version_string());
      return 0;
    } else if (a == "--print-keys") {
      for (auto& [key, doc] : weir::core::list_config_keys()) std::printf("%s\t%s\n", key.c_str(), doc.c_str());
      return 0;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "weir: unknown argument '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }

  auto loaded = weir::core::load_config_file(config_path, environ);
  if (!loaded) {
    std::fprintf(stderr, "weir: %s\n", loaded.error().c_str());
    return 1;
  }
  if (check_only) {
    const weir::core::Config& cfg = *loaded;
    for (auto& w : cfg.warnings) std::fprintf(stderr, "weir: warning: %s\n", w.c_str());
    std::printf("weir: config %s is valid\n", config_path.c_str());
    return 0;
  }
  // Every generation of the config (a reload adds one); `cfg` is the first:
  // what is read once at start comes from it.
  weir::core::ConfigStore configs(std::move(*loaded));
  const weir::core::Config& cfg = configs.first();
  if (auto st = weir::core::init_logging(cfg.log.level, cfg.log.format); !st) {
    std::fprintf(stderr, "weir: %s\n", st.message().c_str());
    return 1;
  }
  for (auto& w : cfg.warnings) spdlog::warn("{}", w);
  raise_fd_limit(cfg.limits.max_connections);

  // Signals are taken by sigwait on the main thread only (SIGHUP: reload).
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A file past RLIMIT_FSIZE fails its write (EFBIG: that recording fails) instead of killing the server.
  signal(SIGXFSZ, SIG_IGN);

  const int workers = cfg.effective_workers();
  if (cfg.api.token.empty() && cfg.api.read_token.empty())
    spdlog::info("api: no token configured (api.token / WEIR_API_TOKEN): the admin API answers loopback clients only");

  weir::core::LoopGroup loops(workers);
  // Blocking work (recording I/O, merges, covers, the catalogue) runs here,
  // never on a loop. Declared before its users: destroyed after them.
  weir::core::WorkerPool storage_pool(int(cfg.storage.workers), 16384, "weir-store");
  weir::origin::Origin origin(configs, loops);
  weir::record::RecordMetrics record_metrics;
  weir::record::AssetStore assets(cfg, storage_pool, record_metrics);
  assets.follow(configs);
  if (auto st = assets.open(); !st) {
    spdlog::error("{}", st.message());
    return 1;
  }
  // https:// callbacks and event receivers are verified against the system's CA store.
  std::shared_ptr<const weir::core::TlsContext> client_tls;
  if (auto t = weir::core::TlsContext::client({}); t) client_tls = *t;
  else spdlog::warn("tls: no client context ({}): https callbacks and events will fail", t.error());
  // Events (webhooks) are sent from loop 0; emit() may be called anywhere.
  weir::client::EventSender::Options event_opts;
  event_opts.max_queued = size_t(cfg.events.max_queued);
  event_opts.max_attempts = int(cfg.events.max_attempts);
  event_opts.timeout_ms = uint64_t(cfg.events.timeout_ms);
  event_opts.tls = client_tls;
  weir::client::EventSender events(loops.at(0), weir::client::event_receivers(cfg), event_opts);
  // The config app key of an app name, for the app's own receivers.
  auto app_key = [&origin](const std::string& app) {
    const weir::core::AppConfig* a = origin.config().find_app(app);
    return a ? a->name : std::string();
  };
  assets.set_event_hook([&events, app_key](const char* type, const weir::record::Asset& a) {
    if (events.enabled()) events.emit(type, weir::record::asset_json(a).dump(), app_key(a.app));
  });
  origin.clients().set_event_hook([&events, app_key](const char* type, const weir::origin::ClientEvent& e) {
    if (events.enabled()) events.emit(type, weir::origin::api::client_event_json(e).dump(), app_key(e.client.app));
  });
  origin.add_metrics_writer([&events](std::string& out) {
    const auto& st = events.stats();
    auto c = [&out](const char* name, const char* help, uint64_t v) {
      out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
    };
    c("weir_events_emitted_total", "Events produced (each goes to every receiver).", st.emitted.load());
    c("weir_events_delivered_total", "Event deliveries a receiver answered 2xx.", st.delivered.load());
    c("weir_events_retries_total", "Event delivery attempts retried.", st.retries.load());
    c("weir_events_failed_total", "Events dropped after events.max_attempts.", st.failed.load());
    c("weir_events_dropped_total", "Events dropped at a full receiver queue (events.max_queued).", st.dropped.load());
  });
  weir::origin::StreamEvents stream_events([&events](std::string type, std::string data, std::string app) {
    events.emit(std::move(type), std::move(data), std::move(app));
  });
  origin.add_observer(&stream_events);  // a reload may turn events on
  // This node's name in edge and forward chains; plays and publishes that
  // loop back to it are refused before any callback is asked, and so are
  // publishes on an edge app with upstream.publish: refuse.
  const std::string node_id =
      cfg.cluster.node_id.empty() ? weir::edge::random_node_id() : cfg.cluster.node_id;
  origin.admission().add_request_check(std::make_unique<weir::edge::LoopCheck>(origin, node_id));
  origin.admission().add(std::make_unique<weir::edge::EdgePublishCheck>(origin));
  // Publish and play callbacks (apps.<app>.callbacks).
  auto owned_callbacks = std::make_unique<weir::hooks::CallbackCheck>(origin, client_tls);
  weir::hooks::CallbackCheck* callbacks = owned_callbacks.get();
  origin.admission().add(std::move(owned_callbacks));
  origin.add_metrics_writer([callbacks](std::string& out) { callbacks->write_metrics(out); });
  // The one SRT thread (listener, srt:// upstreams and forward destinations); it starts when SRT is first used.
  weir::ingest::srt::SrtBridge srt_bridge;
  weir::edge::EdgePuller edge(origin, client_tls, node_id);  // pulls apps.<app>.upstream streams on demand
  edge.set_srt_bridge(&srt_bridge);
  origin.sources().add(&edge);
  origin.add_metrics_writer([&edge](std::string& out) { edge.write_metrics(out); });
  // Cluster discovery (cluster.redis): this server records the streams published here in Redis; apps with
  // upstream.discover look streams up there before their urls. The connection lives on loop 0.
  std::unique_ptr<weir::cluster::RedisDiscovery> discovery;
  if (!cfg.cluster.redis.address.empty()) {
    auto advertised = weir::core::cluster_advertise_url(cfg);  // checked at load when cluster.redis.advertise
    discovery = std::make_unique<weir::cluster::RedisDiscovery>(loops.at(0), cfg.cluster.redis,
                                                                advertised ? *advertised : std::string());
    origin.add_observer(discovery.get());
    edge.set_locator(discovery.get());
    origin.add_metrics_writer([d = discovery.get()](std::string& out) { d->write_metrics(out); });
  }
  // Transcoding (apps.<app>.renditions): decode/filter/encode on its own pool, never on a loop.
  weir::core::WorkerPool transcode_pool(int(cfg.transcode.threads), 1 << 20, "weir-transcode");
  // Events of modules that only emit (any thread; nothing queued while events are off).
  const auto emit_event = [&events](std::string type, std::string data, std::string app) {
    if (events.enabled()) events.emit(std::move(type), std::move(data), std::move(app));
  };
  weir::transcode::TranscodeService transcoder(origin, transcode_pool, emit_event);
  origin.sources().add(&transcoder);
  origin.add_observer(&transcoder);
  origin.add_play_alias(&transcoder);  // apps.<app>.watermark.serve: replace
  origin.admission().add(transcoder.admission_check());
  origin.add_metrics_writer([&transcoder](std::string& out) { transcoder.write_metrics(out); });
  // Mixes (POST /api/v1/mixes): on the transcode pool, each taking a max_jobs slot.
  weir::transcode::MixService mixer(origin, transcode_pool, transcoder);
  origin.add_metrics_writer([&mixer](std::string& out) { mixer.write_metrics(out); });
  weir::record::RecordService recorder(origin, storage_pool, assets, record_metrics);
  origin.add_observer(&recorder);
  origin.add_metrics_writer([&record_metrics](std::string& out) { weir::record::write_metrics(record_metrics, out); });
  // Snapshots (apps.<app>.snapshot): decoded and encoded on their own pool,
  // never on a loop. The services are declared after the pool, so destroyed
  // before it; the metrics (which jobs count into) before it, so destroyed after.
  weir::transcode::SnapshotMetrics snapshot_metrics;
  weir::core::WorkerPool snapshot_pool(int(cfg.snapshot.threads), size_t(cfg.snapshot.max_queued), "weir-snap");
  weir::transcode::SnapshotService snapshots(origin, snapshot_pool, snapshot_metrics, size_t(cfg.snapshot.max_waiters));
  weir::transcode::SnapshotPeriodic periodic_snapshots(snapshot_pool, cfg.storage.root, snapshot_metrics, emit_event);
  periodic_snapshots.set_picture_hook([&recorder](weir::core::Loop& loop, const weir::transcode::SnapshotPeriodic::Picture& p) {
    recorder.picture_taken(loop, p.app, p.stream, p.path, p.at_ms, p.width, p.height, p.bytes);
  });
  origin.add_observer(&periodic_snapshots);
  origin.add_metrics_writer([&snapshots](std::string& out) { snapshots.write_metrics(out); });
  auto router = weir::origin::build_routes(origin);
  weir::record::add_vod_routes(*router, assets, origin);
  snapshots.add_routes(*router);
  weir::transcode::add_master_playlist_routes(*router, origin);
  weir::origin::api::AdminExtensions admin_ext;
  weir::record::add_record_stream_fields(admin_ext, recorder);
  auto admin_router = weir::origin::api::build_admin_routes(origin, WEIR_VERSION, kWeirOpenApiYaml, &admin_ext);
  weir::record::add_record_api(*admin_router, configs, assets, recorder);
  weir::edge::add_upstream_routes(*admin_router, configs, edge);
  weir::transcode::add_transcode_routes(*admin_router, configs, transcoder);
  weir::transcode::add_mix_routes(*admin_router, configs, mixer);
  // Forward (restream): apps.<app>.forward.urls and /api/v1/.../forwards; and
  // an encoder's publish at an edge app pushed to its origins (upstream.publish).
  weir::edge::ForwardService forward(origin, client_tls, node_id, edge.health());
  forward.set_srt_bridge(&srt_bridge);
  origin.add_observer(&forward);
  origin.add_metrics_writer([&forward](std::string& out) { forward.write_metrics(out); });
  weir::edge::add_forward_routes(*admin_router, configs, forward);
  weir::origin::api::ProcessSampler sampler(origin);
  weir::origin::api::add_system_routes(*admin_router, origin, sampler, WEIR_VERSION);
  // Listeners: opened here (a port in use stops the start, naming the key),
  // started on each loop, rebound by a reload.
  weir::server::ListenerSet listeners(loops, origin, router, admin_router);
  if (auto st = listeners.open(configs.current()); !st) {
    spdlog::error("{}", st.message());
    return 1;
  }
  weir::server::Reloader reloader(config_path, environ, origin, listeners);
  weir::server::add_reload_route(*admin_router, configs, reloader);
  reloader.set_observer([&events, &origin](const weir::server::ReloadOutcome& o) {
    if (o.ok) events.set_receivers(weir::client::event_receivers(*origin.config_ptr()));
    if (!events.enabled()) return;
    nlohmann::json data = o.to_json();
    if (!o.ok) data["error"] = {{"message", o.error}, {"field", o.field}};
    events.emit(o.ok ? "config.reloaded" : "config.reload_failed", data.dump());
  });

  std::vector<std::string> failures;
  std::mutex failures_mu;
  loops.start([&](weir::core::Loop& loop) {
    origin.at(loop.index()).start();
    const weir::core::Status st = listeners.start_on(loop);
    if (loop.index() == 0) sampler.start(loop);
    if (loop.index() == 0 && discovery) discovery->start();
    std::lock_guard<std::mutex> lk(failures_mu);
    if (!st) failures.push_back(st.message());
  });
  if (!failures.empty()) {
    spdlog::error("start failed: {}", failures.front());
    loops.stop();
    return 1;
  }
  // SRT after the loops: its bridge thread hands connections to them.
  std::unique_ptr<weir::ingest::srt::SrtServer> srt;
  if (cfg.srt.enabled) {
    auto started = weir::ingest::srt::SrtServer::start(origin, srt_bridge);
    if (!started) {
      spdlog::error("start failed: {}", started.error());
      loops.stop();
      return 1;
    }
    srt = std::move(*started);
  }

  // Recordings a crash left unfinished are merged now (on the pool).
  loops.at(0).post([&assets, &loops] { assets.recover(loops.at(0)); });
  using weir::server::ListenerSet;
  const std::string rtmp_bound = listeners.bound(ListenerSet::kRtmp), http_bound = listeners.bound(ListenerSet::kHttp),
                    api_bound = listeners.bound(ListenerSet::kApi), rtmps_bound = listeners.bound(ListenerSet::kRtmps),
                    https_bound = listeners.bound(ListenerSet::kHttps);
  nlohmann::json listening = {{"event", "listening"}, {"rtmp", rtmp_bound}, {"http", http_bound},
                              {"api", api_bound},     {"workers", workers}, {"pid", getpid()},
                              {"version", WEIR_VERSION}};
  if (srt) listening["srt"] = srt->bound().to_string();
  if (!rtmps_bound.empty()) listening["rtmps"] = rtmps_bound;
  if (!https_bound.empty()) listening["https"] = https_bound;
  if (cfg.api.tls) listening["api_tls"] = true;
  listening["node_id"] = node_id;
  std::printf("%s\n", listening.dump().c_str());
  std::fflush(stdout);
  spdlog::info("weir {} started: node {}, {} loops, rtmp {}, http {}, api {}{}, srt {}, rtmps {}, https {}, config {}, {}",
               WEIR_VERSION, node_id, workers, rtmp_bound, http_bound, api_bound, cfg.api.tls ? " (tls)" : "",
               srt ? srt->bound().to_string() : "off", rtmps_bound.empty() ? "off" : rtmps_bound,
               https_bound.empty() ? "off" : https_bound, config_path, allocator_name());

  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    if (!reloader.serve_requests()) (void)reloader.reload("SIGHUP");
  }
  spdlog::info("signal {}: shutting down", strsignal(sig));
  reloader.close("the server is shutting down");
  // 1. Drain: no new connection; the ones open go on for up to drain_ms.
  listeners.stop_accepting();
  if (srt) srt->stop_accepting();
  const weir::core::ShutdownConfig shutdown = origin.config().shutdown;  // as of the last reload
  // Clients are the connections players and encoders opened here (the client
  // registry): an edge's own pulls and pushes, forwards and transcoder
  // outputs are not, and end with the streams below, so an edge with no
  // viewer left stops at once instead of waiting drain_ms.
  auto clients = [&origin] { return origin.clients().size(); };
  const bool now = !wait_while(sigs, shutdown.drain_ms, [&] { return clients() > 0; },
                         fmt::format("draining for up to {} ms: {} clients connected, no new ones accepted",
                                     shutdown.drain_ms, clients()));
  // 2. Recordings end (their last fragment written), then the streams.
  recorder.stop_all();
  if (srt) srt->stop();  // sources first: SRT sessions close while the loops still run
  edge.stop_all();
  transcoder.stop_all();
  mixer.stop_all();
  forward.stop_all();
  srt_bridge.stop();  // every SRT session closed: the sockets left, the thread, srt_cleanup
  origin.registry().end_all("server shutting down");
  if (discovery) discovery->wait_idle(500);  // the ended streams' keys deleted
  // 3. Merges finish, up to finish_ms.
  if (!now)
    (void)wait_while(sigs, shutdown.finish_ms, [&] { return recorder.unfinished() > 0; },
                     fmt::format("waiting up to {} ms for {} recordings to be merged", shutdown.finish_ms,
                                 recorder.unfinished()));
  if (size_t left = recorder.unfinished())
    spdlog::warn("shutdown: {} recordings not merged yet; they are merged at the next start", left);
  loops.stop();
  spdlog::info("stopped");
  return 0;
}
