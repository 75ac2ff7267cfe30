// Typed server configuration, loaded from YAML and validated at start: the
// app section (AppConfig) and the whole (Config); the sections themselves live
// in config_listen.h, config_delivery.h, config_record.h, config_access.h,
// config_cluster.h and config_transcode.h.
//
// Every field is listed once in its struct's visit(); see config_schema.h.
// Invariants after load_config() succeeds: every value is inside its range,
// `apps` is non-empty, listen addresses parse. Read-only after start (shared
// by every loop without locks).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "core/config_access.h"
#include "core/config_cluster.h"
#include "core/config_delivery.h"
#include "core/config_listen.h"
#include "core/config_record.h"
#include "core/config_schema.h"
#include "core/config_transcode.h"
#include "core/status.h"

namespace weir::core {

// Settings of one application (the first path element of a stream URL).
struct AppConfig {
  bool gop_cache = true;
  int64_t gop_cache_max_ms = 10000;
  config::ByteSize gop_cache_max_bytes = 64 * config::MiB;
  int64_t reconnect_grace_ms = 5000;
  bool allow_takeover = false;
  int64_t play_wait_ms = 0;
  config::ByteSize viewer_skip_bytes = 2 * config::MiB;
  config::ByteSize viewer_max_bytes = 8 * config::MiB;
  int64_t viewer_send_timeout_ms = 10000;
  config::ByteSize viewer_sndbuf = 256 * config::KiB;
  int64_t viewer_audio_hold_ms = 50;
  HlsConfig hls;
  TimeshiftConfig timeshift;
  AppSrtConfig srt;
  RecordConfig record;
  SignConfig sign;
  CallbacksConfig callbacks;
  AccessConfig access;
  AppEventsConfig events;
  UpstreamConfig upstream;
  ForwardConfig forward;
  SnapshotConfig snapshot;
  WatermarkConfig watermark;
  std::map<std::string, RenditionConfig> renditions;
  std::string rendition_name = "{stream}_{rendition}";
  std::string transcode_mode = "on_demand";
  // Not from the file: the app's key in Config::apps ("*" for the wildcard),
  // set by load_config_*; empty for an AppConfig made elsewhere (unit tests).
  std::string name;

  template <class V>
  void visit(V& v) {
    v.field("gop_cache", gop_cache, config::NoCheck{},
            "Start new viewers at the latest keyframe from memory (instant start).");
    v.field("gop_cache_max_ms", gop_cache_max_ms, config::IntRange{0, 600000},
            "Media kept in each stream's packet ring, ms; whole GOPs are evicted past it.");
    v.field("gop_cache_max_bytes", gop_cache_max_bytes, config::IntRange{64 * 1024, 4LL << 30},
            "Hard byte cap of each stream's packet ring; whole GOPs are evicted past it.");
    v.field("reconnect_grace_ms", reconnect_grace_ms, config::IntRange{0, 600000},
            "After the publisher drops, keep viewers attached this long for it to come back.");
    v.field("allow_takeover", allow_takeover, config::NoCheck{},
            "A second publisher of a live stream replaces the first (otherwise it is refused).");
    v.field("play_wait_ms", play_wait_ms, config::IntRange{0, 600000},
            "Hold a play request for a stream not yet published this long (0 = answer 404 at once).");
    v.field("viewer_skip_bytes", viewer_skip_bytes, config::IntRange{16 * 1024, 1LL << 30},
            "A viewer this many bytes behind live skips ahead to the newest keyframe (counted).");
    v.field("viewer_max_bytes", viewer_max_bytes, config::IntRange{64 * 1024, 4LL << 30},
            "A viewer this many bytes behind (unsent backlog) is closed.");
    v.field("viewer_send_timeout_ms", viewer_send_timeout_ms, config::IntRange{1000, 600000},
            "Close a viewer whose socket accepts nothing for this long.");
    v.field("viewer_sndbuf", viewer_sndbuf, config::IntRange{0, 64LL << 20},
            "Kernel send buffer per viewer (SO_SNDBUF; the kernel doubles it; 0 = autotuning). Bytes in it "
            "count towards the viewer's backlog, so keep it below viewer_skip_bytes.");
    v.field("viewer_audio_hold_ms", viewer_audio_hold_ms, config::IntRange{0, 200},
            "At the live edge, hold an audio frame up to this long so it goes out in one write with the next "
            "video frame (halves syscalls; video is never held; 0 = off; audio-only streams are never held).");
    v.section("hls", hls);
    v.section("timeshift", timeshift);
    v.section("srt", srt);
    v.section("record", record);
    v.section("sign", sign);
    v.section("callbacks", callbacks);
    v.section("access", access);
    v.section("events", events);
    v.section("upstream", upstream);
    v.section("forward", forward);
    v.section("snapshot", snapshot);
    v.section("watermark", watermark);
    v.map("renditions", renditions,
          "ABR ladder: outputs transcoded from every stream of this app, by rendition name (letters, digits, _ - .). "
          "Each is a stream like any other, named by rendition_name.");
    v.field("rendition_name", rendition_name, config::NoCheck{},
            "Name of a rendition's stream: a template holding {stream} (the source's name) and {rendition} once each.");
    v.field("transcode_mode", transcode_mode, config::OneOf{{"on_demand", "always"}},
            "on_demand: a source's renditions are made while someone plays one (started by the first play, stopped "
            "transcode.idle_ms after the last); always: from the source's publish to its end.");
  }
};

struct Config {
  int64_t workers = 0;
  LogConfig log;
  RtmpConfig rtmp;
  HttpConfig http;
  SrtConfig srt;
  ApiConfig api;
  TlsConfig tls;
  TlsListenConfig rtmps{"", "Address RTMPS (RTMP over TLS: publish and play) listens on, HOST:PORT; empty = no RTMPS."};
  TlsListenConfig https{"", "Address the players' HTTPS (the routes of http.listen over TLS) listens on, HOST:PORT; "
                            "empty = no HTTPS."};
  LimitsConfig limits;
  StorageConfig storage;
  EventsConfig events;
  ShutdownConfig shutdown;
  ClusterConfig cluster;
  SnapshotPoolConfig snapshot;
  TranscodeConfig transcode;
  std::map<std::string, AppConfig> apps;

  // Not from the file: where it came from, and warnings to log once logging is up.
  std::string source_path;
  std::vector<std::string> warnings;

  template <class V>
  void visit(V& v) {
    v.field("workers", workers, config::IntRange{0, 256}, "Event loops (threads) serving clients; 0 = one per core.");
    v.section("log", log);
    v.section("rtmp", rtmp);
    v.section("http", http);
    v.section("srt", srt);
    v.section("api", api);
    v.section("tls", tls);
    v.section("rtmps", rtmps);
    v.section("https", https);
    v.section("limits", limits);
    v.section("storage", storage);
    v.section("events", events);
    v.section("shutdown", shutdown);
    v.section("cluster", cluster);
    v.section("snapshot", snapshot);
    v.section("transcode", transcode);
    v.map("apps", apps,
          "Applications by name; a stream URL's first path element must name one. The name \"*\" matches any app "
          "not listed.");
  }

  // The app's settings, the wildcard's if `app` is not listed, or nullptr.
  const AppConfig* find_app(std::string_view app) const;
  int effective_workers() const;
};

// Loads and validates. `env` is the process environment (environ format);
// WEIR_* variables override keys (see env_name_for). On error, the message
// names the key path and, when it came from the file, the line.
Result<Config> load_config_file(const std::string& path, char** env);
Result<Config> load_config_text(const std::string& yaml_text, char** env);
// Every scalar key path with its documentation, for --print-keys and the test
// that keeps conf/weir.yaml complete. Apps appear as "apps.<name>.<key>".
std::vector<std::pair<std::string, std::string>> list_config_keys();

// The pull URL template this server advertises in cluster discovery:
// cluster.redis.advertise_url, else rtmp://<rtmp.listen>/{app}/{stream}. An
// error (naming the key) when it is empty and rtmp.listen has no specific
// host (0.0.0.0, ::) or port (0), or when the template is malformed.
Result<std::string> cluster_advertise_url(const Config& cfg);

}  // namespace weir::core
