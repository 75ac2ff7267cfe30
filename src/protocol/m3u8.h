// HLS playlist parser (RFC 8216 and the LL-HLS additions of RFC 8216bis):
// enough of a master playlist to pick a variant, and of a media playlist to
// play it live: target duration, media sequence, segments, EXT-X-MAP,
// EXT-X-PART / PART-INF / SERVER-CONTROL / PRELOAD-HINT, ENDLIST.
//
// Pure; any thread. The result owns its strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace weir::protocol {

struct HlsPart {
  int64_t msn = 0;      // media sequence number of the parent segment
  int index = 0;        // part index within the parent segment
  double duration = 0;  // s
  bool independent = false;
  bool gap = false;
  std::string uri;
};

struct HlsSegment {
  int64_t msn = 0;
  double duration = 0;  // EXTINF, s
  bool discontinuity = false;
  std::string uri;
  std::vector<HlsPart> parts;  // LL-HLS: the parts this segment was made of (if still listed)
};

struct HlsPlaylist {
  bool master = false;
  std::vector<std::string> variants;  // master: variant URIs in order
  double target_duration = 0;
  int64_t media_sequence = 0;
  bool endlist = false;
  std::string map_uri;                // EXT-X-MAP URI (fMP4 init segment)
  double part_target = 0;             // EXT-X-PART-INF PART-TARGET
  bool can_block_reload = false;
  double part_hold_back = 0;
  std::vector<HlsSegment> segments;   // complete segments, in order
  std::vector<HlsPart> tail_parts;    // parts of the segment still being written (msn = next_msn())
  std::string preload_hint_uri;

  int64_t next_msn() const { return media_sequence + int64_t(segments.size()); }
  // Every listed part in playback order (segment parts, then the tail).
  std::vector<HlsPart> all_parts() const;
};

inline constexpr size_t kMaxPlaylistBytes = 4u << 20;
inline constexpr size_t kMaxPlaylistEntries = 20000;

core::Result<HlsPlaylist> parse_m3u8(std::string_view text);

// Value of attribute `name` in an attribute list (quotes removed); empty if absent.
std::string m3u8_attribute(std::string_view list, std::string_view name);

}  // namespace weir::protocol
