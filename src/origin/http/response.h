// HTTP/1.x response heads: status lines, the headers every response carries,
// and the Date value.
//
// Thread: pure functions; http_date_now() keeps a per-thread cache, so any
// thread may call it.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"

namespace weir::origin::http {

// Response headers set by handlers, in order. Names as the handler spells them.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Reason phrase for a status code ("OK", "Not Found"); "Unknown" if unlisted.
std::string_view status_reason(int status);
// IMF-fixdate (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::time_t t);
// http_date(now), formatted at most once per second per thread.
const std::string& http_date_now();
// True for statuses whose responses never carry a body (1xx, 204, 304).
bool status_has_no_body(int status);

struct HeadOptions {
  int http_minor = 1;                      // answer HTTP/1.0 clients with HTTP/1.0
  std::optional<uint64_t> content_length;  // nullopt: no Content-Length (close-delimited or 1xx/204)
  std::string_view connection;             // "close", "keep-alive", "Upgrade" or empty (none)
  std::string_view cors_origin;            // non-empty: add Access-Control-Allow-Origin (+ Expose-Headers)
};

// Writes a status line, Server, Date, the handler's headers, CORS headers,
// Content-Length, Connection and the blank line. Handler headers that the
// server owns (Content-Length, Connection, Transfer-Encoding, Date, Server)
// or that contain CR, LF or NUL are left out, so a handler can never split the
// response.
void write_response_head(core::ByteWriter& w, int status, const Headers& headers, const HeadOptions& opt);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);
// True if a comma-separated header value lists `token` (case-insensitive).
bool header_has_token(std::string_view value, std::string_view token);

}  // namespace weir::origin::http
