// Url: what a client connects to: scheme://host[:port]/path[?query] for rtmp,
// rtmps, http, https, ws, wss and srt; HLS playlist references resolved
// against one; the RTMP app/stream split.
//
// The host is kept as written (without the brackets of an IPv6 literal);
// core::Connector resolves names off the loop when it connects. No user info,
// no fragments. A parser of untrusted text (playlist entries), fuzzed
// (tests/fuzz/url.cpp). Pure functions and a value type; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/net.h"
#include "core/status.h"

namespace weir::protocol {

struct Url {
  std::string scheme;  // lower case
  std::string host;    // as written, without brackets
  uint16_t port = 0;
  std::string path;    // starts with '/', without the query ("/" if empty)
  std::string query;   // without '?', may be empty

  // path + ("?" + query if any): the HTTP request target.
  std::string target() const;
  // "host:port" ("[v6]:port") for Host headers and RTMP tcUrl.
  std::string authority() const;
  std::string to_string() const;
  // rtmps, https or wss.
  bool secure() const;
  // The numeric socket address of host:port (a numeric host or localhost;
  // names are refused: use core::Connector to reach a name).
  core::Result<core::SocketAddress> address() const;
  // 127.0.0.0/8, ::1 or "localhost".
  bool is_loopback() const;
};

// Parses scheme://host[:port]/path[?query]. Default ports: rtmp 1935, rtmps
// 443, http/ws 80, https/wss 443, srt none (required). Fails with a short
// reason on anything else.
core::Result<Url> parse_url(std::string_view text);

// Resolves a relative reference (an HLS playlist entry) against `base`:
// "http://h:p/x" (must stay on the same scheme://authority), "/abs/path",
// or "rel/path" relative to base's directory. Query strings are kept.
core::Result<std::string> resolve_target(const Url& base, std::string_view ref);

// The RTMP app, stream and tcUrl of an rtmp:// or rtmps:// URL.
//
// Split rule: the text after "host[:port]/" (path and query together) is cut
// at its last '/'. Before it is the app, which may span several path
// elements (rtmp://h/live/sub/s -> app "live/sub", as nginx-rtmp and SRS
// allow) and may carry its own query (rtmp://h/live?vhost=v/s -> app
// "live?vhost=v", SRS's vhost form); after it is the stream name with the
// URL's query (rtmp://h/live/s?key=k -> stream "s?key=k"), as publishers send
// it. So a '/' inside the stream's query must be percent-encoded.
// tcUrl = scheme://authority/app.
struct RtmpTarget {
  std::string app;
  std::string stream;
  std::string tc_url;
};
core::Result<RtmpTarget> rtmp_target(const Url& url);

}  // namespace weir::protocol
