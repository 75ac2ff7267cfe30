// Upstream URLs of an edge app (apps.<app>.upstream): templates expanded for
// one stream, and the order in which a pull tries the origins. Pure: no I/O.
//
// Templates hold {app} and {stream} (core/config.cpp checks the form at
// load). App and stream names reaching here passed admission's name check
// ([A-Za-z0-9_.-]), so they need no escaping in a URL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/srt_url.h"
#include "core/status.h"

namespace weir::core {
struct UpstreamConfig;
}

namespace weir::edge {

enum class UpstreamKind { kRtmp, kHttpFlv, kSrt };

struct UpstreamTarget {
  UpstreamKind kind = UpstreamKind::kRtmp;
  std::string url;
  core::SrtUrl srt;  // kSrt: the parsed URL, `token` already in its stream id
};

// `tmpl` with {app} and {stream} replaced, `token` (a query string, with or
// without a leading '?' or '&') appended to the URL's query. Kind by scheme:
// rtmp:// and rtmps:// -> RTMP play, http:// -> HTTP-FLV, srt:// -> SRT
// caller (MPEG-TS). SRT has no URL query on the wire: the token's items go
// into the stream id as Access Control keys (",KEY=VALUE", SRT
// access-control.md), where a Weir origin's admission reads them as query
// parameters; a ',' inside a value (the via chain) becomes '+' (edge/via.h
// reads both). A stream id not in the "#!::" form takes no keys: the token is
// then dropped.
core::Result<UpstreamTarget> expand_upstream_url(std::string_view tmpl, std::string_view app, std::string_view stream,
                                                 std::string_view token);

// The query an edge sends upstream for app/stream: the app's static `token`,
// a Weir play token made with `sign_key` when set (expires = now_s +
// sign_ttl_s; protocol/url_signing.h), then `via` as the weir_via parameter.
std::string upstream_query(const core::UpstreamConfig& up, std::string_view app, std::string_view stream,
                           std::string_view via, int64_t now_s);

enum class UpstreamPolicy { kInOrder, kRoundRobin, kHash };
// "in_order" | "round_robin" | "hash" (the config checked it; else in order).
UpstreamPolicy parse_upstream_policy(std::string_view s);

// The indexes of `n` origins in the order a pull tries them: the policy's
// first choice (in order: 0; round robin: `ticket` mod n; hash: a stable hash
// of `stream` mod n, the same on every edge), then the following ones in list
// order, wrapping. Origins whose `healthy` entry is false go after every
// healthy one (same relative order): a pull tries an origin that failed
// recently only when none other is left. `healthy` is empty or has n entries.
std::vector<size_t> upstream_order(UpstreamPolicy policy, size_t n, std::string_view stream, uint64_t ticket,
                                   const std::vector<bool>& healthy);

// Exponential backoff: base * 2^round, capped at max (round 0 -> base).
int64_t upstream_backoff_ms(int64_t base_ms, int64_t max_ms, uint32_t round);

}  // namespace weir::edge
