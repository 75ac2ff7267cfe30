// Value formats of the admin API (../shared/API.md): times as RFC 3339 UTC
// strings with milliseconds, opaque URL-safe list cursors. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weir::origin::api {

// "2026-12-02T13:07:36.539Z"; "" for 0 (never).
std::string rfc3339_ms(int64_t unix_ms);
// A time given in a query parameter: Unix seconds ("1764680856", optionally
// with a fraction) or RFC 3339 UTC ("2026-12-02T13:07:36Z", with optional
// .fff and a Z or +00:00 suffix). Unix ms; nullopt for anything else.
std::optional<int64_t> parse_time_ms(std::string_view text);
// A cursor is the last key of a page, base64url without padding; decoding
// refuses anything else (and keys over 512 bytes).
std::string encode_cursor(std::string_view key);
std::optional<std::string> decode_cursor(std::string_view cursor);

}  // namespace weir::origin::api
