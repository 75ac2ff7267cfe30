// The pure parts of cluster discovery (no I/O): key names, what a value read
// from Redis must look like before an edge uses it, the refresh period and
// the reconnect backoff.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weir::cluster {

// Longest value accepted from Redis as a pull URL (longer: ignored, as not found).
inline constexpr size_t kMaxUrlLength = 1024;

// Deletes KEYS[1] only while it still holds ARGV[1] (this origin's URL), so
// an origin whose stream moved elsewhere never deletes the new owner's key.
inline constexpr const char* kDeleteIfOursLua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

// "<prefix><app>/<stream>" (app and stream passed admission's name check:
// [A-Za-z0-9_.-], so the key needs no escaping).
std::string stream_key(std::string_view prefix, std::string_view app, std::string_view stream);

// Whether `v` (a value read from Redis) may be given to the edge as a pull URL
// or template: rtmp://, rtmps:// or http://, a host, at most kMaxUrlLength
// bytes, no spaces or control characters. The edge parses it fully
// (edge/upstream_url.h) before connecting.
bool plausible_pull_url(std::string_view v);

// How often a live stream's key is written again: a third of its TTL, so two
// refreshes may be lost before it expires.
uint64_t refresh_period_ms(int64_t ttl_ms);

// Wait before reconnect attempt `failures` (0-based): 250 ms doubling to 8 s.
uint64_t reconnect_delay_ms(uint32_t failures);

}  // namespace weir::cluster
