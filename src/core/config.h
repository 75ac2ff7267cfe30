// Typed server configuration, loaded from YAML and validated at start.
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
#include "core/config_schema.h"
#include "core/status.h"

namespace weir::core {

struct LogConfig {
  std::string level = "info";
  std::string format = "text";

  template <class V>
  void visit(V& v) {
    v.field("level", level, config::OneOf{{"trace", "debug", "info", "warn", "error", "off"}},
            "Least severe level written: trace|debug|info|warn|error|off.");
    v.field("format", format, config::OneOf{{"text", "json"}},
            "text: one human-readable line per event; json: one JSON object per line.");
  }
};

struct RtmpConfig {
  std::string listen = "0.0.0.0:1935";
  int64_t chunk_size = 60000;
  int64_t handshake_timeout_ms = 5000;
  int64_t idle_timeout_ms = 30000;
  int64_t send_timeout_ms = 10000;
  config::ByteSize max_message_size = 8 * config::MiB;
  config::ByteSize max_reassembly_bytes = 32 * config::MiB;

  template <class V>
  void visit(V& v) {
    v.field("listen", listen, config::ListenAddress{}, "Address RTMP listens on, HOST:PORT (port 0 = any free port).");
    v.field("chunk_size", chunk_size, config::IntRange{128, 16777215},
            "Chunk size Weir sends to players (bytes). Large values mean fewer chunk headers.");
    v.field("handshake_timeout_ms", handshake_timeout_ms, config::IntRange{100, 600000},
            "Close a connection that has not finished the handshake and connect in this time.");
    v.field("idle_timeout_ms", idle_timeout_ms, config::IntRange{1000, 3600000},
            "Close a connection that sends nothing for this long (players send acks).");
    v.field("send_timeout_ms", send_timeout_ms, config::IntRange{1000, 600000},
            "Close a connection that accepts none of our bytes for this long (players: the app's "
            "viewer_send_timeout_ms).");
    v.field("max_message_size", max_message_size, config::IntRange{4096, 16777215},
            "Largest RTMP message accepted (bytes); a larger declared length closes the session.");
    v.field("max_reassembly_bytes", max_reassembly_bytes, config::IntRange{65536, 1LL << 30},
            "Bytes one connection may hold in partly received messages; more closes it.");
  }
};

struct HttpConfig {
  std::string listen = "0.0.0.0:8080";
  int64_t request_timeout_ms = 10000;
  config::ByteSize max_header_size = 16 * config::KiB;
  std::string cors_origin = "*";

  template <class V>
  void visit(V& v) {
    v.field("listen", listen, config::ListenAddress{}, "Address HTTP listens on, HOST:PORT (port 0 = any free port).");
    v.field("request_timeout_ms", request_timeout_ms, config::IntRange{100, 600000},
            "Close a connection that has not sent a complete request in this time.");
    v.field("max_header_size", max_header_size, config::IntRange{1024, 1048576},
            "Largest request head (request line + headers) accepted, bytes.");
    v.field("cors_origin", cors_origin, config::NoCheck{},
            "Access-Control-Allow-Origin sent with media responses (empty = no CORS headers).");
  }
};

struct SrtConfig {
  std::string listen = "0.0.0.0:10080";
  bool enabled = true;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{}, "Accept SRT publishers and players.");
    v.field("listen", listen, config::ListenAddress{},
            "UDP address SRT listens on, HOST:PORT (port 0 = any free port).");
  }
};

// The admin API (../shared/API.md): its own listener, never the players'.
// TLS (OpenSSL): the certificate of the RTMPS and HTTPS listeners and of the
// admin API's TLS; read at start.
struct TlsConfig {
  std::string cert_file;
  std::string key_file;

  template <class V>
  void visit(V& v) {
    v.field("cert_file", cert_file, config::NoCheck{},
            "PEM file: the server certificate, then its chain. Needed by rtmps.listen, https.listen and api.tls.");
    v.field("key_file", key_file, config::NoCheck{}, "PEM file: the certificate's private key.");
  }
};

// A TLS listener beside a plain one (rtmps:, https:); empty = off.
struct TlsListenConfig {
  std::string listen;
  const char* what = "";

  template <class V>
  void visit(V& v) {
    v.field("listen", listen, config::NoCheck{}, what);
  }
};

struct ApiConfig {
  std::string listen = "127.0.0.1:1985";
  std::string token;
  std::string read_token;
  bool tls = false;

  template <class V>
  void visit(V& v) {
    v.field("listen", listen, config::ListenAddress{},
            "Address the admin API listens on, HOST:PORT (port 0 = any free port). Without a token it must be a "
            "loopback address.");
    v.field("token", token, config::Secret{},
            "Bearer token(s) with the admin role (read and change), comma-separated, each at least 16 characters; "
            "also WEIR_API_TOKEN. Empty: no token, and the API answers loopback clients only.");
    v.field("read_token", read_token, config::Secret{},
            "Bearer token(s) with the read role (GET only), comma-separated, each at least 16 characters.");
    v.field("tls", tls, config::NoCheck{}, "Serve the admin API over HTTPS only, with tls.cert_file and tls.key_file.");
  }

  // The tokens of each role, split and trimmed.
  std::vector<std::string> admin_tokens() const;
  std::vector<std::string> read_tokens() const;
};

struct LimitsConfig {
  int64_t max_connections = 20000;
  int64_t max_connections_per_ip = 0;
  int64_t metrics_max_streams = 100;
  config::ByteSize ingest_buffer_bytes = 512 * config::MiB;

  template <class V>
  void visit(V& v) {
    v.field("max_connections", max_connections, config::IntRange{0, 10000000},
            "Accepted connections open at once across all listeners (0 = no limit).");
    v.field("max_connections_per_ip", max_connections_per_ip, config::IntRange{0, 10000000},
            "Connections one client address may hold open at once across RTMP, HTTP players and SRT (0 = no "
            "limit); more are closed at accept (SRT: refused in the handshake with reject code 1402), counted in "
            "weir_connections_refused_total{reason=\"per_ip\"}. The admin API is exempt.");
    v.field("metrics_max_streams", metrics_max_streams, config::IntRange{0, 100000},
            "Streams /metrics exports per-stream series for (weir_stream_*{app,stream}), the first by app/name; "
            "the rest are counted in weir_stream_series_omitted. Caps the series a scrape can hold (0 = none).");
    v.field("ingest_buffer_bytes", ingest_buffer_bytes, config::IntRange{1 << 20, 64LL << 30},
            "Bytes all RTMP connections together may hold in partly received messages; the connection whose "
            "message would pass it is closed (counted in weir_ingest_buffer_refused_total).");
  }
};

// HLS and LL-HLS output of an app's streams.
struct HlsConfig {
  bool enabled = true;
  int64_t segment_ms = 2000;
  int64_t window_segments = 6;
  bool ll = true;
  int64_t part_ms = 400;
  int64_t idle_timeout_ms = 30000;
  int64_t max_blocking_requests = 2000;
  std::string encryption = "none";
  int64_t key_rotation_segments = 10;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Serve /{app}/{stream}.m3u8 (MPEG-TS) and /{app}/{stream}/llhls.m3u8 (fMP4/CMAF).");
    v.field("segment_ms", segment_ms, config::IntRange{1000, 30000},
            "Target segment duration; segments are cut at the first keyframe past it.");
    v.field("window_segments", window_segments, config::IntRange{2, 100},
            "Segments listed in a live playlist (the sliding window).");
    v.field("ll", ll, config::NoCheck{},
            "Low-Latency HLS on the fMP4 playlist: partial segments, blocking reload, delta updates.");
    v.field("part_ms", part_ms, config::IntRange{100, 5000}, "Target duration (maximum) of LL-HLS partial segments; best a whole number of frames that divides "
            "segment_ms (400: 10 frames at 25 fps, 12 at 30).");
    v.field("idle_timeout_ms", idle_timeout_ms, config::IntRange{1000, 3600000},
            "Stop packaging a stream this long after its last HLS request (unless time-shift needs it).");
    v.field("max_blocking_requests", max_blocking_requests, config::IntRange{1, 1000000},
            "Blocking playlist/part requests held at once per stream; more are answered 503.");
    v.field("encryption", encryption, config::OneOf{{"none", "aes-128"}},
            "none, or aes-128: MPEG-TS segments encrypted (EXT-X-KEY METHOD=AES-128).");
    v.field("key_rotation_segments", key_rotation_segments, config::IntRange{1, 100000},
            "With aes-128, a new key every this many segments.");
  }
};

// A rolling buffer of a stream's past segments, addressable by URL.
struct TimeshiftConfig {
  bool enabled = false;
  int64_t window_ms = 600000;
  config::ByteSize memory_bytes = 256 * config::MiB;
  config::ByteSize disk_bytes = 4 * config::GiB;
  std::string dir = "/tmp/weir-timeshift";

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Keep past segments so players can ask for ?delay=, ?start=, ?end= (HLS) and ?delay= (HTTP-FLV).");
    v.field("window_ms", window_ms, config::IntRange{10000, 7LL * 24 * 3600 * 1000},
            "How far back positions can be asked for.");
    v.field("memory_bytes", memory_bytes, config::IntRange{1 << 20, 64LL << 30},
            "Segment bytes kept in memory per stream; older segments spill to disk.");
    v.field("disk_bytes", disk_bytes, config::IntRange{0, 16LL << 40},
            "Segment bytes kept on disk per stream; the oldest are deleted first (0 = no disk).");
    v.field("dir", dir, config::NoCheck{}, "Directory for spilled segments (created if missing).");
  }
};

// SRT settings of an app's connections (set on each accepted socket).
struct AppSrtConfig {
  int64_t latency_ms = 120;
  int64_t peer_latency_ms = 120;
  std::string passphrase;
  int64_t pbkeylen = 0;
  int64_t max_bw = 0;
  int64_t overhead_pct = 25;
  int64_t payload_size = 1316;

  template <class V>
  void visit(V& v) {
    v.field("latency_ms", latency_ms, config::IntRange{20, 10000},
            "Receiver latency (SRTO_RCVLATENCY): how long SRT waits for retransmissions.");
    v.field("peer_latency_ms", peer_latency_ms, config::IntRange{20, 10000},
            "Latency asked of the peer as sender (SRTO_PEERLATENCY).");
    v.field("passphrase", passphrase, config::Secret{},
            "Encryption passphrase, 10 to 79 characters (empty = unencrypted); peers must use the same.");
    v.field("pbkeylen", pbkeylen, config::IntRange{0, 32}, "AES key length: 0 (auto), 16, 24 or 32 bytes.");
    v.field("max_bw", max_bw, config::IntRange{0, 10LL << 30},
            "Send rate cap towards players, bytes/s (0 = input rate plus overhead_pct).");
    v.field("overhead_pct", overhead_pct, config::IntRange{5, 100},
            "Retransmission headroom above the input rate when max_bw is 0 (SRTO_OHEADBW).");
    v.field("payload_size", payload_size, config::IntRange{188, 1456},
            "Bytes per SRT packet (SRTO_PAYLOADSIZE; 1316 = 7 TS packets).");
  }
};

// Recording an app's live streams into VOD assets (src/record).
struct RecordConfig {
  bool enabled = false;
  std::string streams = "*";
  int64_t segment_s = 60;
  int64_t fragment_ms = 1000;
  std::string path = "{app}/{stream}/{yyyy}{mm}{dd}-{asset}";
  int64_t max_asset_s = 0;
  int64_t resume_s = 30;
  std::string fsync = "segment";
  int64_t retention_days = 0;
  config::ByteSize retention_bytes = 0;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Record this app's streams (those matching `streams`); the admin API can record any stream anyway.");
    v.field("streams", streams, config::NoCheck{},
            "Which streams: comma-separated name patterns where * matches any run of characters (\"*\" = all).");
    v.field("segment_s", segment_s, config::IntRange{2, 86400},
            "Length of one segment file (s), cut at the first keyframe past it.");
    v.field("fragment_ms", fragment_ms, config::IntRange{100, 10000},
            "fMP4 fragment duration (ms): the most a crash can lose; fragments are also cut at each keyframe.");
    v.field("path", path, config::NoCheck{},
            "Asset directory under storage.root: {app} {stream} {asset} {yyyy} {mm} {dd} {hh}; must hold {asset}.");
    v.field("max_asset_s", max_asset_s, config::IntRange{0, 7 * 86400},
            "Close the asset after this much media and start a new one (0 = no limit).");
    v.field("resume_s", resume_s, config::IntRange{0, 86400},
            "A publisher back within this many seconds after the stream ended continues the same asset (the pause "
            "is kept as time); later, a new asset starts.");
    v.field("fsync", fsync, config::OneOf{{"fragment", "segment", "never"}},
            "fragment: fsync after every fragment (a crash loses at most the fragment being written); segment: "
            "at each segment's end (a crash may lose what the OS had not written, up to one segment); never: "
            "leave it to the OS.");
    v.field("retention_days", retention_days, config::IntRange{0, 36500},
            "Delete this app's ready assets older than this many days (0 = keep).");
    v.field("retention_bytes", retention_bytes, config::IntRange{0, 1LL << 50},
            "Delete this app's oldest ready assets while its assets together exceed this size (0 = no cap).");
  }
};

// Signed URLs for an app's publishers and players (protocol/url_signing.h,
// origin/signed_url_check.h). An empty key list leaves that direction open.
struct SignConfig {
  std::string publish_keys;
  std::string play_keys;
  std::string mode = "weir";
  bool bind_ip = false;
  int64_t hls_session_s = 60;

  template <class V>
  void visit(V& v) {
    v.field("publish_keys", publish_keys, config::Secret{},
            "Keys that sign publish URLs, comma-separated (primary first, then a secondary while rotating), each 8 "
            "to 256 characters; empty = publishing is not signed. Better from the environment "
            "(WEIR_APPS_<APP>_SIGN_PUBLISH_KEYS) than in this file.");
    v.field("play_keys", play_keys, config::Secret{},
            "Keys that sign play URLs (every protocol, HLS segments through session tokens), comma-separated, "
            "primary first; empty = playing is not signed. Also WEIR_APPS_<APP>_SIGN_PLAY_KEYS.");
    v.field("mode", mode, config::OneOf{{"weir", "tencent"}},
            "weir: ?expires=UNIX&token=HEX(HMAC-SHA256(key, \"DIR\\nAPP\\nSTREAM\\nEXPIRES[\\nIP]\")); tencent: "
            "?txTime=HEX_UNIX&txSecret=HEX(MD5(key + stream + txTime)) (Tencent Cloud CSS).");
    v.field("bind_ip", bind_ip, config::NoCheck{},
            "Mode weir: tokens are signed over the client's IP too (\\nIP appended), so a URL works from that "
            "address only. HLS session tokens are bound to it as well.");
    v.field("hls_session_s", hls_session_s, config::IntRange{5, 86400},
            "Lifetime of the session token an accepted HLS playlist adds to its segment, part, init and key URIs "
            "(renewed with each playlist reload); also how long after its last reload an expired token still "
            "opens the playlist it was valid for, so a playing HLS viewer is not cut at its token's expiry.");
  }

  // The keys of each direction, split and trimmed (primary first).
  std::vector<std::string> publish_key_list() const;
  std::vector<std::string> play_key_list() const;
  bool signs_publish() const { return !publish_keys.empty(); }
  bool signs_play() const { return !play_keys.empty(); }
};

// HTTP callbacks that decide publishes and plays (hooks/callback_check.h).
struct CallbacksConfig {
  std::string on_publish;
  std::string on_play;
  int64_t timeout_ms = 3000;
  bool fail_open = false;
  std::string secret;
  int64_t cache_ms = 10000;

  template <class V>
  void visit(V& v) {
    v.field("on_publish", on_publish, config::NoCheck{},
            "URL (http:// or https://) POSTed before every publish (RTMP, SRT); a 2xx answer allows it, a 4xx refuses "
            "it; empty = no callback.");
    v.field("on_play", on_play, config::NoCheck{},
            "URL POSTed before every play (RTMP, SRT, HTTP-FLV, WS-FLV, .ts, HLS playlists); empty = no callback.");
    v.field("timeout_ms", timeout_ms, config::IntRange{100, 60000},
            "Time a callback may take (connect and answer); past it the callback has failed.");
    v.field("fail_open", fail_open, config::NoCheck{},
            "When a callback fails (timeout, refused connection, 5xx, a redirect, garbage): true = allow, false = "
            "refuse as unavailable (HTTP 503, SRT 1503).");
    v.field("secret", secret, config::Secret{},
            "Key of the Weir-Signature header on callback requests (as events.secret signs events); empty = unsigned.");
    v.field("cache_ms", cache_ms, config::IntRange{0, 3600000},
            "How long an allowed HLS playlist request stays allowed for the same client address, app and stream "
            "without a new callback (players reload playlists every few seconds); 0 = ask every time.");
  }
};

// Who may publish and play an app's streams (origin/access_check.h). Lists
// are YAML lists or comma-separated strings (WEIR_* overrides).
struct AccessConfig {
  CidrList publish_allow, publish_deny, play_allow, play_deny;
  std::vector<std::string> referers;
  bool allow_empty_referer = true;

  template <class V>
  void visit(V& v) {
    v.field("publish_allow", publish_allow, config::NoCheck{},
            "Addresses allowed to publish: CIDR ranges or bare addresses (a /32 or /128), IPv4 and IPv6; an IPv4 "
            "rule also matches ::ffff:a.b.c.d. Empty = any address; otherwise only matching ones.");
    v.field("publish_deny", publish_deny, config::NoCheck{},
            "Addresses refused publishing (RTMP: NetStream.Publish.BadName with the reason; SRT: reject 1403), "
            "even when publish_allow matches them.");
    v.field("play_allow", play_allow, config::NoCheck{},
            "Addresses allowed to play (every protocol). Empty = any address; otherwise only matching ones.");
    v.field("play_deny", play_deny, config::NoCheck{},
            "Addresses refused playing (HTTP 403; RTMP: NetStream.Play.StreamNotFound with the reason; SRT: "
            "reject 1403), even when play_allow matches them.");
    v.field("referers", referers, config::HostPatterns{},
            "HTTP players (HTTP-FLV, WS-FLV, .ts, HLS) must come from pages on these hosts: each Referer and Origin "
            "header sent must name one (\"example.com\", \"*.example.com\" = any subdomain). Empty = no check. "
            "RTMP and SRT players send neither and are not checked.");
    v.field("allow_empty_referer", allow_empty_referer, config::NoCheck{},
            "With referers set: admit HTTP players that send no Referer and no Origin (or Origin: null), such as "
            "native apps and players with a no-referrer policy.");
  }
};

// An app's own event receivers, beside the global events.url: they get the
// events of this app's streams, clients and assets.
struct AppEventsConfig {
  std::string url;
  std::string secret;

  template <class V>
  void visit(V& v) {
    v.field("url", url, config::NoCheck{},
            "Receivers of this app's events (stream.*, client.*, asset.*), comma-separated http:// or https:// URLs, "
            "besides events.url; empty = none. Delivery settings are events.max_queued, max_attempts, timeout_ms.");
    v.field("secret", secret, config::Secret{}, "Key of their Weir-Signature header (empty: events.secret).");
  }
  std::vector<std::string> urls() const;
};

// Edge: where an app's streams are pulled from when a viewer asks for one that
// is not live here (edge/edge_puller.h). Empty `urls` = not an edge app.
struct UpstreamConfig {
  std::vector<std::string> urls;
  std::string policy = "in_order";
  int64_t connect_timeout_ms = 3000;
  int64_t stall_timeout_ms = 5000;
  int64_t backoff_ms = 500;
  int64_t backoff_max_ms = 10000;
  int64_t idle_ms = 10000;
  std::string token;
  std::string sign_key;
  int64_t sign_ttl_s = 3600;
  bool discover = false;
  std::string publish = "forward";

  template <class V>
  void visit(V& v) {
    v.field("urls", urls, config::UrlTemplates{},
            "Origins to pull a stream from, as URL templates with {app} and {stream}: "
            "rtmp://HOST:PORT/{app}/{stream} (RTMP, Enhanced RTMP codecs), http://HOST:PORT/{app}/{stream}.flv "
            "(HTTP-FLV) or srt://HOST:PORT?streamid=#!::r={app}/{stream},m=request (SRT caller, MPEG-TS; query "
            "keys streamid, passphrase, pbkeylen, latency, mode=caller). Empty = streams of this app are not pulled.");
    v.field("policy", policy, config::OneOf{{"in_order", "round_robin", "hash"}},
            "Which origin a new pull tries first: in_order (the first healthy one in the list), round_robin (the "
            "next one each time), hash (chosen by the stream name, so every edge asks the same origin); on failure "
            "the next ones follow in list order.");
    v.field("connect_timeout_ms", connect_timeout_ms, config::IntRange{100, 60000},
            "Time to connect to one origin and have the stream start playing; past it the next origin is tried.");
    v.field("stall_timeout_ms", stall_timeout_ms, config::IntRange{200, 600000},
            "A pull that receives no byte for this long has failed; the next origin is tried.");
    v.field("backoff_ms", backoff_ms, config::IntRange{0, 600000},
            "Wait before retrying after every origin has failed once; doubled per failed round up to backoff_max_ms.");
    v.field("backoff_max_ms", backoff_max_ms, config::IntRange{0, 3600000}, "Longest wait between rounds of retries.");
    v.field("idle_ms", idle_ms, config::IntRange{1000, 3600000},
            "Close a pull this long after its last viewer left (HLS: its last request).");
    v.field("token", token, config::Secret{},
            "Query string appended to every origin URL (key=value&...), for origins that require signed URLs.");
    v.field("sign_key", sign_key, config::Secret{},
            "The origins' play key (one of their apps.<app>.sign.play_keys): every upstream URL then carries a fresh "
            "Weir play token for its stream (expires=now+sign_ttl_s&token=...), as `weir sign` makes. Not for origins "
            "whose app binds tokens to the client address. Empty = no token is made.");
    v.field("sign_ttl_s", sign_ttl_s, config::IntRange{10, 31536000},
            "Lifetime of the tokens made with sign_key, in seconds; a pull already playing outlives its token.");
    v.field("discover", discover, config::NoCheck{},
            "Look a wanted stream up in cluster discovery (cluster.redis) first: an origin that has it is tried "
            "before `urls`, which stay the fallback (they may be empty). Needs cluster.redis.address.");
    v.field("publish", publish, config::OneOf{{"forward", "local", "refuse"}},
            "What an encoder publishing on this edge app gets (an app with urls or discover): forward (the stream "
            "plays here from the local hub and is pushed to one origin of the rtmp:// and rtmps:// urls, chosen "
            "by policy, failing over to the next with backoff; needs at least one such template), local (it stays "
            "on this node only) or refuse (the publish is refused: encoders must publish to an origin). An app "
            "with neither urls nor discover publishes locally whatever this says.");
  }
};

// Forward (restream): every stream published on the app is pushed to these
// destinations over RTMP or SRT (edge/forward_service.h). Read from the config
// generation a stream was published under: a reload applies to streams
// published after it.
struct ForwardConfig {
  std::vector<std::string> urls;
  int64_t connect_timeout_ms = 5000;
  int64_t backoff_ms = 1000;
  int64_t backoff_max_ms = 30000;
  config::ByteSize max_queued_bytes = 4 * config::MiB;
  bool send_via = true;

  template <class V>
  void visit(V& v) {
    v.field("urls", urls, config::ForwardUrlTemplates{},
            "Destinations every stream of this app is pushed to, as URL templates with {app} and {stream}: "
            "rtmp://HOST:PORT/{app}/{stream} or rtmps://HOST/APP/{stream}?key=K (RTMP publish, Enhanced RTMP "
            "codecs), or srt://HOST:PORT?streamid=#!::r={app}/{stream},m=publish (SRT caller, MPEG-TS in "
            "1316-byte messages; query keys streamid, passphrase, pbkeylen, latency, mode=caller). Empty = no forward. A reload applies to streams "
            "published after it; the admin API adds and removes destinations of a live stream.");
    v.field("connect_timeout_ms", connect_timeout_ms, config::IntRange{100, 60000},
            "Time to connect to a destination and have it accept the publish; past it the attempt failed.");
    v.field("backoff_ms", backoff_ms, config::IntRange{0, 600000},
            "Wait before reconnecting to a destination that failed; doubled per failed attempt up to "
            "backoff_max_ms, back to this once a connection lasted 2 s (its loss is retried at once).");
    v.field("backoff_max_ms", backoff_max_ms, config::IntRange{0, 3600000},
            "Longest wait between reconnects to a destination.");
    v.field("max_queued_bytes", max_queued_bytes, config::IntRange{64 * 1024, 1LL << 30},
            "Bytes that may wait unsent to one destination; past it packets are dropped up to the next keyframe "
            "(counted as dropped frames), so a slow destination never holds memory or delays the stream.");
    v.field("send_via", send_via, config::NoCheck{},
            "Add the chain of nodes the stream passed (weir_via=...) to the stream name's query of every "
            "destination, so that a Weir destination that is already in the chain refuses the publish (a forward "
            "loop). Set false for destinations that refuse unknown query parameters (loops through them are then "
            "not detected).");
  }
};

// Still pictures of an app's live streams (src/transcode/snapshot_*.h): on
// demand at GET /{app}/{stream}/snapshot.jpg|png, and every interval_s to disk.
struct SnapshotConfig {
  bool on_demand = true;
  int64_t cache_ms = 1000;
  int64_t interval_s = 0;
  int64_t width = 640;
  std::string format = "jpeg";
  std::string dir = "snapshots/{app}/{stream}";
  int64_t keep = 10;

  template <class V>
  void visit(V& v) {
    v.field("on_demand", on_demand, config::NoCheck{},
            "Serve GET /{app}/{stream}/snapshot.jpg and .png (?w=WIDTH) on the players' HTTP listener: the latest "
            "picture of the live stream, admitted like a play of it (access rules, signed URLs, on_play).");
    v.field("cache_ms", cache_ms, config::IntRange{0, 60000},
            "A picture decoded for a request is served to every request for this long (and the encoded JPEG/PNG "
            "per width with it); concurrent requests share one decode. Also the responses' max-age (at least 1 s).");
    v.field("interval_s", interval_s, config::IntRange{0, 86400},
            "Write a picture of every live stream of this app to disk every this many seconds (0 = off), with a "
            "snapshot.created event per file.");
    v.field("width", width, config::IntRange{2, 16384},
            "Width of the periodic pictures (pixels; aspect kept, never upscaled, dimensions even).");
    v.field("format", format, config::OneOf{{"jpeg", "png"}}, "Format of the periodic pictures: jpeg or png.");
    v.field("dir", dir, config::NoCheck{},
            "Directory of a stream's periodic pictures, under storage.root: a template with {app} and {stream} "
            "(both required, so each stream has its own); files are named {time}.jpg (UTC, "
            "YYYYMMDDTHHMMSS.mmmZ, so names sort by time).");
    v.field("keep", keep, config::IntRange{0, 1000000},
            "Periodic pictures kept per stream: after each write the oldest beyond this many are deleted (0 = keep "
            "all).");
  }
};

// One output of an app's ABR ladder (src/transcode): the source stream decoded
// once, scaled (aspect kept when only one side is given; sizes rounded to even)
// and encoded again, published as its own stream named by the app's
// rendition_name template.
struct RenditionConfig {
  int64_t width = 0;
  int64_t height = 0;
  int64_t fps = 0;
  std::string video_codec = "libx264";
  std::string preset = "veryfast";
  std::string profile;
  int64_t bitrate_kbps = 1000;
  int64_t maxrate_kbps = 0;
  std::string audio = "copy";
  int64_t audio_bitrate_kbps = 128;

  template <class V>
  void visit(V& v) {
    v.field("width", width, config::IntRange{0, 8192},
            "Output width in pixels (0: from height, keeping the source's aspect). Rounded down to even.");
    v.field("height", height, config::IntRange{0, 8192},
            "Output height in pixels (0: from width, keeping the source's aspect). At least one of width and height "
            "must be set. Rounded down to even.");
    v.field("fps", fps, config::IntRange{0, 240},
            "Frame-rate cap: a source faster than this is reduced to it (0: the source's rate).");
    v.field("video_codec", video_codec, config::OneOf{{"libx264", "libx265"}}, "Video encoder.");
    v.field("preset", preset, config::OneOf{{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                                                 "slow", "slower", "veryslow"}},
            "Encoder speed preset (x264/x265 names).");
    v.field("profile", profile, config::OneOf{{"", "baseline", "main", "high", "main10"}},
            "Encoder profile (empty: the encoder's default; baseline/high are H.264 only, main10 HEVC only).");
    v.field("bitrate_kbps", bitrate_kbps, config::IntRange{50, 100000}, "Target video bitrate, kbit/s.");
    v.field("maxrate_kbps", maxrate_kbps, config::IntRange{0, 200000},
            "Peak video bitrate, kbit/s, enforced over a one-second buffer (0: 1.5 x bitrate_kbps). Also the "
            "BANDWIDTH the master playlist announces.");
    v.field("audio", audio, config::OneOf{{"copy", "aac", "opus"}},
            "Audio: copy (the source's audio track passed through unchanged), aac (AAC-LC, FFmpeg's encoder, the "
            "source's rate) or opus (libopus, 48 kHz); the source's audio is decoded once for all renditions that "
            "encode it. Opus travels in every output (E-RTMP 'Opus' in RTMP/FLV, MPEG-TS, fMP4), but few players "
            "take it in FLV or MPEG-TS: serve Opus renditions through the LL-HLS (fMP4) master.");
    v.field("audio_bitrate_kbps", audio_bitrate_kbps, config::IntRange{16, 510},
            "Audio bitrate, kbit/s: the encoder's target for aac/opus; for copy only the figure counted in the master "
            "playlist's BANDWIDTH (set it to the source's).");
  }
  int64_t peak_kbps() const { return maxrate_kbps > 0 ? maxrate_kbps : bitrate_kbps * 3 / 2; }
};

// Watermarks (src/transcode/watermark_*): an image and/or a text drawn on the
// picture of every stream of an app by its transcode job, which publishes the
// watermarked picture as an output stream (and carries it into the app's
// renditions). The admin API sets, changes or removes it per live stream.
struct WatermarkImageConfig {
  std::string file;
  std::string position = "top-right+2%+2%";
  int64_t width_percent = 15;
  int64_t opacity = 100;

  template <class V>
  void visit(V& v) {
    v.field("file", file, config::NoCheck{},
            "PNG (alpha kept) or other image file drawn on the picture; empty = no image. Read when a job builds its "
            "filter graph (on the transcode pool).");
    v.field("position", position, config::NoCheck{},
            "Corner plus offset: top-left, top-right, bottom-left, bottom-right or center, optionally followed by "
            "two offsets in pixels or percent of the frame's side, e.g. top-right+20+20, bottom-left+2%+3%.");
    v.field("width_percent", width_percent, config::IntRange{1, 100},
            "Image width in percent of the frame's width (aspect kept).");
    v.field("opacity", opacity, config::IntRange{0, 100}, "Opacity in percent (100 = as the image is).");
  }
};

struct WatermarkTextConfig {
  std::string text;
  bool strftime = false;
  std::string font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  int64_t font_size = 24;
  int64_t size_percent = 0;
  std::string color = "white";
  bool box = false;
  std::string box_color = "black@0.5";
  std::string position = "bottom-left+2%+2%";
  int64_t opacity = 100;

  template <class V>
  void visit(V& v) {
    v.field("text", text, config::NoCheck{}, "Text drawn on the picture (at most 256 bytes); empty = no text.");
    v.field("strftime", strftime, config::NoCheck{},
            "Expand strftime sequences in text on every frame (%H:%M:%S, %Y-%m-%d: a clock, local time).");
    v.field("font", font, config::NoCheck{}, "Font file (TrueType/OpenType) for the text.");
    v.field("font_size", font_size, config::IntRange{4, 512}, "Font size in pixels (when size_percent is 0).");
    v.field("size_percent", size_percent, config::IntRange{0, 50},
            "Font size in percent of the frame's height (0 = font_size), so the text keeps its share of the picture "
            "at any resolution.");
    v.field("color", color, config::NoCheck{},
            "Text colour: a name (white, red, ...), #RRGGBB or #RRGGBBAA, optionally @ALPHA (0.0 to 1.0).");
    v.field("box", box, config::NoCheck{}, "Draw a box behind the text.");
    v.field("box_color", box_color, config::NoCheck{}, "Colour of the box, as color.");
    v.field("position", position, config::NoCheck{}, "Corner plus offset, as image.position.");
    v.field("opacity", opacity, config::IntRange{0, 100}, "Opacity of the text and its box in percent.");
  }
};

struct WatermarkConfig {
  bool enabled = false;
  std::string output = "{stream}_wm";
  std::string serve = "separate";
  std::string clean_name = "{stream}_clean";
  std::string video_codec = "libx264";
  std::string preset = "veryfast";
  int64_t bitrate_kbps = 2500;
  WatermarkImageConfig image;
  WatermarkTextConfig text;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Make a watermarked output of every stream of this app (a transcode job; on demand or always as "
            "transcode_mode says). Its watermark is image and text below, or what the admin API sets per stream.");
    v.field("output", output, config::NoCheck{},
            "Name of the watermarked output stream: a template holding {stream} once (not just {stream}).");
    v.field("serve", serve, config::OneOf{{"separate", "replace"}},
            "separate: the published name plays the clean picture, output the watermarked one. replace: the "
            "published name plays the watermarked picture (every protocol, HLS too) and clean_name the clean one "
            "(protect it with access rules or signed URLs: it is meant for the operator).");
    v.field("clean_name", clean_name, config::NoCheck{},
            "With serve: replace, the name that plays the clean picture: a template holding {stream} once.");
    v.field("video_codec", video_codec, config::OneOf{{"libx264", "libx265"}}, "Encoder of the watermarked output.");
    v.field("preset", preset,
            config::OneOf{{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                           "veryslow"}},
            "Encoder speed preset of the watermarked output.");
    v.field("bitrate_kbps", bitrate_kbps, config::IntRange{50, 100000},
            "Target video bitrate of the watermarked output (the source's size), kbit/s.");
    v.section("image", image);
    v.section("text", text);
  }
};

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

// Optional copy of VOD assets in S3-compatible object storage (AWS S3, MinIO,
// Ceph, COS, OSS): record/s3_client, AssetStore's upload pipeline. Checked at
// load when enabled (endpoint form, bucket, keys).
struct S3Config {
  bool enabled = false;
  std::string endpoint = "http://127.0.0.1:9000";
  std::string bucket;
  std::string region = "us-east-1";
  bool path_style = true;
  std::string access_key;
  std::string secret_key;
  std::string prefix;
  config::ByteSize part_size = 16 * config::MiB;
  bool delete_local = false;
  int64_t uploads = 2;
  int64_t presign_ttl_s = 3600;
  int64_t max_retries = 5;
  int64_t backoff_ms = 2000;
  int64_t connect_timeout_ms = 5000;
  int64_t low_speed_timeout_s = 30;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Upload every ready asset (MP4, playlist, segments, cover) to the bucket and mark it uploaded.");
    v.field("endpoint", endpoint, config::NoCheck{},
            "Service URL, http(s)://host[:port] with no path (https://s3.eu-west-1.amazonaws.com, "
            "http://127.0.0.1:9000).");
    v.field("bucket", bucket, config::NoCheck{}, "Bucket name (must exist).");
    v.field("region", region, config::NoCheck{}, "Region signed into requests (SigV4); MinIO and Ceph accept us-east-1.");
    v.field("path_style", path_style, config::NoCheck{},
            "true: http://endpoint/bucket/key (MinIO, Ceph); false: virtual-host style http://bucket.endpoint/key "
            "(AWS, COS, OSS).");
    v.field("access_key", access_key, config::NoCheck{},
            "Access key id; also from the environment, WEIR_STORAGE_S3_ACCESS_KEY.");
    v.field("secret_key", secret_key, config::Secret{},
            "Secret access key; better from the environment, WEIR_STORAGE_S3_SECRET_KEY, than in this file.");
    v.field("prefix", prefix, config::NoCheck{},
            "Prepended to every object key: objects are <prefix><app>/<asset id>/<file> ('vod/' for a folder).");
    v.field("part_size", part_size, config::IntRange{5LL << 20, 512LL << 20},
            "Files larger than this go up as multipart uploads in parts of this size (5MiB..512MiB; one part is "
            "held in memory per upload).");
    v.field("delete_local", delete_local, config::NoCheck{},
            "After an upload is verified (HeadObject), delete the local MP4, segments and cover (the small playlist "
            "stays); false: keep them.");
    v.field("uploads", uploads, config::IntRange{1, 16},
            "Threads for uploads and object deletes: their own pool, so a slow or hanging object store never "
            "delays recording I/O; assets beyond it wait their turn.");
    v.field("presign_ttl_s", presign_ttl_s, config::IntRange{1, 604800}, "Lifetime of presigned URLs (s).");
    v.field("max_retries", max_retries, config::IntRange{0, 100},
            "Retries of a failed upload before the asset goes back to ready with the error (the next start tries "
            "again).");
    v.field("backoff_ms", backoff_ms, config::IntRange{10, 3600000},
            "Wait before the first retry; doubled for each further one (at most 10 minutes).");
    v.field("connect_timeout_ms", connect_timeout_ms, config::IntRange{100, 600000},
            "A request whose connection is not up in this time fails.");
    v.field("low_speed_timeout_s", low_speed_timeout_s, config::IntRange{1, 3600},
            "A request that moves less than 1 KiB/s for this long fails (a hanging server).");
  }
};

// Where recordings and VOD assets live (src/record).
struct StorageConfig {
  std::string root = "weir-data";
  int64_t workers = 2;
  config::ByteSize writer_queue_bytes = 64 * config::MiB;
  S3Config s3;

  template <class V>
  void visit(V& v) {
    v.field("root", root, config::NoCheck{},
            "Directory of the asset catalogue (catalogue.sqlite3) and the assets (relative paths are from the "
            "working directory; created if missing).");
    v.field("workers", workers, config::IntRange{1, 64},
            "Threads for recording I/O, merges, covers and the catalogue (never an event loop).");
    v.field("writer_queue_bytes", writer_queue_bytes, config::IntRange{1 << 20, 4LL << 30},
            "Bytes of one recording waiting to be written; past it the disk is too slow and that recording fails "
            "(the live stream goes on).");
    v.section("s3", s3);
  }
};

// Events (webhooks, ../shared/API.md): JSON POSTs signed with HMAC-SHA256.
struct EventsConfig {
  std::string url;
  std::string secret;
  int64_t max_queued = 1000;
  int64_t max_attempts = 10;
  int64_t timeout_ms = 10000;

  template <class V>
  void visit(V& v) {
    v.field("url", url, config::NoCheck{},
            "Receivers of events (asset.ready, asset.failed, asset.uploaded), comma-separated http:// or https:// URLs; "
            "empty = no events.");
    v.field("secret", secret, config::Secret{},
            "Key of the Weir-Signature header (t=UNIX,v1=HMAC-SHA256(secret, t.body)); also WEIR_EVENTS_SECRET.");
    v.field("max_queued", max_queued, config::IntRange{1, 1000000},
            "Events waiting per receiver; past it the oldest waiting one is dropped (counted).");
    v.field("max_attempts", max_attempts, config::IntRange{1, 100},
            "Attempts per event (retried with exponential backoff from 0.5 s up to 60 s), then dropped.");
    v.field("timeout_ms", timeout_ms, config::IntRange{100, 600000}, "Time one delivery attempt may take.");
  }
  std::vector<std::string> urls() const;
};

// SIGTERM / SIGINT: a graceful stop (main.cpp). A second signal stops at once.
struct ShutdownConfig {
  int64_t drain_ms = 10000;
  int64_t finish_ms = 30000;

  template <class V>
  void visit(V& v) {
    v.field("drain_ms", drain_ms, config::IntRange{0, 3600000},
            "After the signal, no new connection is accepted (the admin API stays up) and the clients connected "
            "may go on this long; the stop goes ahead as soon as none is left.");
    v.field("finish_ms", finish_ms, config::IntRange{0, 3600000},
            "Then every recording is ended (its last fragment written) and its merge may take this long; a merge "
            "not done by then is finished at the next start.");
  }
};

// Cluster discovery over Redis (src/cluster): every origin records where its
// live streams can be pulled; edges look a stream up there before their
// static upstream.urls. Read once at start (a reload keeps the running value).
struct ClusterRedisConfig {
  std::string address;
  std::string key_prefix = "weir:";
  int64_t ttl_ms = 15000;
  int64_t timeout_ms = 500;
  int64_t max_queued = 10000;
  bool advertise = true;
  std::string advertise_url;

  template <class V>
  void visit(V& v) {
    v.field("address", address, config::NoCheck{},
            "Redis server, HOST:PORT (a name is resolved off the event loops); empty = no cluster discovery.");
    v.field("key_prefix", key_prefix, config::NoCheck{},
            "Prefix of the keys: a live stream is the key <prefix><app>/<stream> holding its pull URL template "
            "(letters, digits and _ - . : / only, at most 64 characters).");
    v.field("ttl_ms", ttl_ms, config::IntRange{3000, 3600000},
            "Lifetime of a stream's key; refreshed every third of it while the stream is live, so a crashed origin's "
            "streams vanish after at most this long.");
    v.field("timeout_ms", timeout_ms, config::IntRange{10, 60000},
            "Deadline of a connect and of each command (hiredis has none): past it Redis counts as unavailable, the "
            "edge uses upstream.urls and the client reconnects with a backoff (0.25 s doubling to 8 s).");
    v.field("max_queued", max_queued, config::IntRange{16, 1000000},
            "Commands waiting for Redis at once; past it a command is refused (counted in "
            "weir_cluster_redis_commands_refused_total): a lookup falls back to upstream.urls, a record is retried "
            "at the next refresh. Keep it above the streams this server publishes.");
    v.field("advertise", advertise, config::NoCheck{},
            "Record the streams published here (encoders, not streams an edge pulls) in Redis; false: only look up.");
    v.field("advertise_url", advertise_url, config::NoCheck{},
            "URL template with {app} and {stream} that edges pull this server's streams from "
            "(rtmp://10.0.0.5:1935/{app}/{stream}, or http://.../{app}/{stream}.flv); empty = "
            "rtmp://<rtmp.listen>/{app}/{stream}, which needs a specific host and port in rtmp.listen.");
  }
};

// This node among others: its name in the chain of edges a pull passes
// through (edge/via.h), the longest chain it serves, and discovery on Redis.
struct ClusterConfig {
  std::string node_id;
  int64_t max_hops = 8;
  ClusterRedisConfig redis;

  template <class V>
  void visit(V& v) {
    v.field("node_id", node_id, config::NodeName{},
            "This node's name among the others (1 to 64 letters, digits, '_' or '-'); an edge adds it to the "
            "weir_via parameter of every upstream URL, a forward to that of every destination, and a play or "
            "publish whose weir_via already names this node is refused as a loop (508). Empty = a random name chosen at start. No two nodes may share one. Restart to change.");
    v.field("max_hops", max_hops, config::IntRange{1, 64},
            "A play or publish that has passed through this many nodes already (the names in its weir_via) is "
            "refused (508).");
    v.section("redis", redis);
  }
};

// The process-wide side of snapshots (apps.<app>.snapshot): the threads that
// decode and encode them and the bounds of their queues. Read once at start.
struct SnapshotPoolConfig {
  int64_t threads = 2;
  int64_t max_queued = 64;
  int64_t max_waiters = 1000;

  template <class V>
  void visit(V& v) {
    v.field("threads", threads, config::IntRange{1, 64},
            "Threads decoding and encoding snapshots (their own pool, never an event loop).");
    v.field("max_queued", max_queued, config::IntRange{1, 100000},
            "Decode, encode and write jobs waiting for a thread; past it a request is answered 503 and a periodic "
            "picture is skipped (both counted).");
    v.field("max_waiters", max_waiters, config::IntRange{1, 1000000},
            "Requests waiting for one stream's picture at once; past it a request is answered 503 (counted).");
  }
};

// The transcoder (src/transcode): its worker pool and job limits. Read once at
// start (threads, max_queued_packets) or at each job start (the others).
struct TranscodeConfig {
  int64_t threads = 2;
  int64_t max_jobs = 4;
  int64_t idle_ms = 10000;
  int64_t encoder_threads = 2;
  int64_t max_queued_packets = 300;
  std::string media_dir;

  template <class V>
  void visit(V& v) {
    v.field("threads", threads, config::IntRange{1, 256},
            "Worker threads that decode, filter and encode (never an event loop). Restart to change.");
    v.field("max_jobs", max_jobs, config::IntRange{0, 1024},
            "Sources transcoded at once (one job makes all renditions of a source); a play that would start one "
            "more is refused with 503.");
    v.field("idle_ms", idle_ms, config::IntRange{500, 3600000},
            "An on-demand job stops this long after the last viewer of its renditions left (HLS: the last request).");
    v.field("encoder_threads", encoder_threads, config::IntRange{1, 64},
            "Threads each rendition's encoder may use on its own (x264/x265 threads).");
    v.field("max_queued_packets", max_queued_packets, config::IntRange{16, 100000},
            "Source packets waiting for a job's decoder; past it the job drops source packets up to the next "
            "keyframe (counted in weir_transcode_frames_dropped_total). Restart to change.");
    v.field("media_dir", media_dir, config::NoCheck{},
            "Absolute directory that image and font files named through the admin API (watermark image.file and "
            "text.font, mix background.image) must resolve inside (realpath: no .. or symlink escapes); empty = the "
            "API may name no file (config-file paths are not restricted).");
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
