// The HLS multivariant ("master") playlists of a source stream and its
// renditions (RFC 8216 4.3.4.2):
//   GET /{app}/{stream}/master.m3u8        variants: MPEG-TS playlists (../NAME.m3u8)
//   GET /{app}/{stream}/llhls_master.m3u8  variants: LL-HLS fMP4 playlists (../NAME/llhls.m3u8)
// The source is listed first with its measured bitrate, then each rendition
// of the app with its configured peak (maxrate + audio; the measured rate of
// a running output when higher) as BANDWIDTH, its size (from the source's,
// aspect kept), CODECS (the running output's own, else derived from the
// settings, audio included: the source's for copy, mp4a.40.2 for aac, Opus
// for opus) and FRAME-RATE. URIs are relative, so each variant plays on
// demand like any rendition.
//
// Query: a time-shift position (delay=, start=[&end=], the Tencent aliases;
// 400 when malformed or the app has no time-shift) goes to every variant URI
// in the native spelling; the LL-HLS master then lists the MPEG-TS playlists
// (only they are time-shifted). For an app with signed plays, the master's
// credential is carried to every variant: a token for that variant's stream
// with the master token's expiry (origin::carried_play_token).
//
// Thread: the route's handler runs on an HTTP loop; render_master_playlist
// is pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "origin/http/router.h"

namespace weir::origin {
class Origin;
}

namespace weir::transcode {

struct Variant {
  std::string uri;
  uint64_t bandwidth = 0;  // bits/s
  int width = 0, height = 0;
  std::string codecs;      // "avc1.64001f,mp4a.40.2" ("" = left out)
  double frame_rate = 0;   // 0 = left out
};

std::string render_master_playlist(const std::vector<Variant>& variants);

// A frame rate measured over `span_ms` as FRAME-RATE gives it: it reads a
// little off (the first frames, the clock), so the nearest common rate within
// 5% stands for it. An NTSC rate (1000/1001 of one) only over a span long
// enough to tell it from the whole rate: the count is off by up to a frame at
// each end, 2000/span_ms fps, under the 0.01 fps this needs only past 200 s.
double snap_frame_rate(double measured, int64_t span_ms);

// An RFC 6381 codec string for a rendition that is not running: H.264
// "avc1.PPCCLL" / HEVC "hvc1.1.6.LNN.B0" from the profile and the level its
// picture and rate need.
std::string expected_video_codecs(const std::string& encoder, const std::string& profile, int width, int height,
                                  double fps);

enum class MasterForm { kTs, kLl };

// Both routes above.
void add_master_playlist_routes(origin::http::Router& router, origin::Origin& origin);

}  // namespace weir::transcode
