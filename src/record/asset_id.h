// Asset ids: the names of VOD assets in the catalogue, in URLs
// (/api/v1/assets/{id}) and as directory names under storage.root.
//
// An id is 23 characters of lowercase Crockford base32
// ("0123456789abcdefghjkmnpqrstvwxyz": no i, l, o, u): 10 characters of the
// creation time in Unix milliseconds (50 bits, big-endian, so ids sort by
// creation time as plain strings until the year 37648) and 13 characters of
// 64 random bits from the kernel's CSPRNG (getrandom), so two ids made in the
// same millisecond, in one process or several, differ with overwhelming
// probability.
//
// Pure functions apart from the randomness; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace weir::record {

inline constexpr size_t kAssetIdLength = 23;   // what new_asset_id makes
inline constexpr size_t kMaxAssetIdLength = 64;  // what valid_asset_id accepts

// A fresh id for an asset created at `now_ms` (Unix ms; a negative time counts
// as 0, a time past 2^50 ms wraps the time part). Never fails: if getrandom
// is unavailable the random part comes from std::random_device.
std::string new_asset_id(int64_t now_ms);

// True when `id` may name an asset: 1..kMaxAssetIdLength characters of
// [a-z0-9_-], the first one [a-z0-9]. So no '.', '/', '\\', '%', NUL, space,
// upper case or leading '-': an id that passes is one safe path component
// (never "", ".", "..", absolute, or an option to a tool) and needs no URL
// escaping. Every id that comes from outside (a URL, a request body, a
// catalogue row) is checked with this before it reaches a file path.
// Accepts more than new_asset_id makes ('_', '-', any length) so that ids of
// imported assets may be longer or hyphenated.
bool valid_asset_id(std::string_view id);

}  // namespace weir::record
