// The field-visitor machinery behind the typed config: each config struct lists
// its fields once in a visit() method; visitors walk that list to parse YAML,
// to apply environment overrides and to list every key. Keeping one list means
// a key cannot be parsed but undocumented, or documented but unparsed.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace weir::core::config {

// Constraints attached to a field.
struct IntRange {
  int64_t min;
  int64_t max;
};
struct OneOf {
  std::initializer_list<const char*> values;
};
struct NoCheck {};
// A string that must not be shown: GET /api/v1/config prints "********" for
// it (or "" when unset). Parsed as is.
struct Secret {};
// A HOST:PORT listen address (numeric host; see core/net.h).
struct ListenAddress {};
// A list of host patterns (core/host_pattern.h).
struct HostPatterns {};
// A list of edge origin URL templates: rtmp://, rtmps://, http:// or srt://
// (core/srt_url.h, checked with the placeholders filled in), {app} and
// {stream} the only placeholders (edge/upstream_url.h expands them).
struct UrlTemplates {};
// A node's name in a cluster: 1 to 64 letters, digits, '_' or '-' (or empty
// where the field says empty means "choose one").
struct NodeName {};
bool is_node_name(std::string_view s);
// A list of forward destination templates: as UrlTemplates, rtmp://,
// rtmps:// or srt:// (edge/forward_url.h expands them).
struct ForwardUrlTemplates {};
// Byte sizes: integers, or strings with a KiB/MiB/GiB (or K/M/G) suffix.
struct ByteSize {
  uint64_t v = 0;
  ByteSize() = default;
  constexpr ByteSize(uint64_t x) : v(x) {}
  operator uint64_t() const { return v; }
};
inline constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

// Upper-case environment variable name for a key path: "rtmp.listen" ->
// "WEIR_RTMP_LISTEN"; any character other than a letter or digit becomes '_'.
std::string env_name_for(std::string_view key_path);

}  // namespace weir::core::config
