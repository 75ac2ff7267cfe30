// Url: the one target a loadgen run talks to (rtmp://, http://, ws://, srt://).
//
// Only numeric hosts and "localhost" are accepted, so nothing here resolves
// names (no DNS on a loop). A run refuses non-loopback hosts unless the user
// passed --allow-remote (checked by the caller with is_loopback()).
//
// Pure value type; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/net.h"
#include "core/status.h"

namespace weir::loadgen {

struct Url {
  std::string scheme;  // lower case: rtmp, http, ws, srt
  std::string host;    // as written, without brackets
  uint16_t port = 0;
  std::string path;    // starts with '/', without the query ("/" if empty)
  std::string query;   // without '?', may be empty

  // path + ("?" + query if any): the HTTP request target.
  std::string target() const;
  // "host:port" ("[v6]:port") for Host headers and RTMP tcUrl.
  std::string authority() const;
  std::string to_string() const;
  // The socket address of host:port (numeric, or localhost = 127.0.0.1).
  core::Result<core::SocketAddress> address() const;
  // 127.0.0.0/8, ::1 or "localhost".
  bool is_loopback() const;
};

// Parses scheme://host[:port]/path[?query]. Default ports: rtmp 1935, http/ws
// 80, srt none (required). Fails with a short reason on anything else.
core::Result<Url> parse_url(std::string_view text);

// Resolves a relative reference (an HLS playlist entry) against `base`:
// "http://h:p/x" (must stay on the same scheme://authority), "/abs/path",
// or "rel/path" relative to base's directory. Query strings are kept.
core::Result<std::string> resolve_target(const Url& base, std::string_view ref);

// RTMP app and stream name from a path "/app/stream" (query kept on the stream,
// as publishers send it). Fails if either part is missing.
struct RtmpPath {
  std::string app;
  std::string stream;
};
core::Result<RtmpPath> split_rtmp_path(const Url& url);

}  // namespace weir::loadgen
