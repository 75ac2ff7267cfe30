// Query strings as key/value lists: the parameters a client passes with a
// publish or play (a signed URL's expires/token, a callback's own keys), from
// an HTTP request target, an RTMP app or stream name ("live?k=v",
// "stream?k=v") or anything else in application/x-www-form-urlencoded form.
//
// Pure functions, any thread. Bounds: at most kMaxQueryParams pairs and
// kMaxQueryBytes of input; more is an error, never truncated silently.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace weir::protocol {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

inline constexpr size_t kMaxQueryParams = 64;
inline constexpr size_t kMaxQueryBytes = 8192;

// "a=1&b=x%20y&c" -> {a,1},{b,"x y"},{c,""}; '+' is a space; empty items
// ("&&") are skipped; keys keep their order and may repeat. Errors: a
// malformed %XX escape, a NUL byte once decoded, too many pairs, too long.
core::Result<QueryParams> parse_query_params(std::string_view raw);

// Appends the parameters of `raw` to `out` (same rules), so that the query of
// an RTMP app and of its stream name end up in one list.
core::Status append_query_params(std::string_view raw, QueryParams& out);

// Calls fn(raw_key, raw_value) for each non-empty "k=v" item of a raw query,
// in order, undecoded; an item without '=' has an empty value. fn returns
// false to stop.
template <class Fn>
void for_each_query_item(std::string_view raw, Fn&& fn) {
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (!fn(item.substr(0, eq), eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1))) return;
  }
}

// The first value of `key`, or nullptr.
const std::string* find_query_param(const QueryParams& params, std::string_view key);

}  // namespace weir::protocol
