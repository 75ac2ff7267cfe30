// HLS playlist text. Pure functions over a store's segments (called by
// StreamHls under its lock), so they can be tested without a server.
//
// MPEG-TS playlist (/{app}/{stream}.m3u8, URIs "{stream}/seg{msn}.ts"):
//   live    the last window_segments complete segments;
//   delay   the same, with its edge `delay` seconds behind now (wall clock);
//   event   from the segment containing `start` to the live edge (EVENT);
//   vod     from `start` to `end`, closed with EXT-X-ENDLIST once `end` is
//           covered (EVENT until then).
// LL-HLS playlist (/{app}/{stream}/llhls.m3u8, fMP4, RFC 8216bis): the live
// window plus the open segment's parts, EXT-X-PART-INF, EXT-X-SERVER-CONTROL,
// EXT-X-PRELOAD-HINT, and the delta form (EXT-X-SKIP) on request.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "core/config.h"
#include "origin/hls/segment.h"

namespace weir::origin::hls {

struct TsPlaylistRequest {
  enum class Mode { kLive, kDelay, kEvent, kVod } mode = Mode::kLive;
  int64_t now_ms = 0;
  double delay_s = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct PlaylistInput {
  const std::deque<Segment>& segments;  // ascending msn; back() may be open
  bool open;                            // back() is still being built
  bool ended;
  int target_duration_s;
  const core::HlsConfig& hls;
  const std::string& stream;  // URI prefix for the TS playlist
};

struct Rendered {
  int status = 200;  // 200, or 404 (outside the window / nothing yet)
  std::string body;  // playlist, or a one-line reason
};

Rendered render_ts_playlist(const PlaylistInput& in, const TsPlaylistRequest& req);
Rendered render_ll_playlist(const PlaylistInput& in, bool skip);

// "2026-11-21T12:58:05.123Z"
std::string iso8601_ms(int64_t unix_ms);

}  // namespace weir::origin::hls
