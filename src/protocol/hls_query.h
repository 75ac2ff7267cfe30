// The query string of an HLS playlist request: time-shift positions and the
// LL-HLS delivery directives (RFC 8216bis 6.2.5). Pure; fuzzed.
//
// Time-shift: delay=SECONDS | start=UNIX_SECONDS[&end=UNIX_SECONDS]; Tencent
// Cloud's spelling is accepted as aliases so players moving from it keep
// their URLs: txTimeshift=on&tsDelay=, tsStart=, tsEnd=, tsFormat=unix_s.
// LL-HLS: _HLS_msn=N[&_HLS_part=M], _HLS_skip=YES|v2.
// Other parameters (cache busters, tokens) are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace weir::protocol {

struct HlsQuery {
  std::optional<double> delay_s;       // seconds behind live, >= 0
  std::optional<double> start_unix_s;  // wall-clock start
  std::optional<double> end_unix_s;    // wall-clock end (> start), closes the playlist
  std::optional<uint64_t> msn;         // _HLS_msn
  std::optional<uint64_t> part;        // _HLS_part (needs msn)
  bool skip = false;                   // _HLS_skip=YES or v2
  bool skip_v2 = false;                // _HLS_skip=v2 (also skip date ranges)

  bool timeshifted() const { return delay_s || start_unix_s; }
};

// Errors are one line, suitable as a 400 body ("delay: must be a number of
// seconds >= 0, got '-5'").
core::Result<HlsQuery> parse_hls_query(std::string_view raw_query);

// The time-shift position of `q` as query parameters in the native spelling
// ("delay=30", "start=1700000000.5&end=1700000060"; the Tencent aliases come
// out native too), "" when `q` is not time-shifted: what a master playlist
// passes on to its variants. Seconds keep up to millisecond precision.
std::string timeshift_query(const HlsQuery& q);

}  // namespace weir::protocol
