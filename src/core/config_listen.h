// Listeners (RTMP, RTMPS, HTTP, HTTPS, SRT, admin API), TLS, logging, process-wide
// limits and shutdown: the server-wide sections of the configuration.
// Part of the typed configuration (core/config.h includes every part; the
// rules of config.h hold here: each field listed once in its visit(), read-only
// after start).
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

}  // namespace weir::core
