// The HLS multivariant ("master") playlist of a source stream and its
// renditions: GET /{app}/{stream}/master.m3u8 (RFC 8216 4.3.4.2). The
// source is listed first with its measured bitrate, then each rendition of
// the app with its configured peak (maxrate + audio) as BANDWIDTH, its size
// (from the source's, aspect kept), CODECS (the running output's own, else
// derived from the settings) and FRAME-RATE. Variant URIs are the streams'
// MPEG-TS playlists, relative (../NAME.m3u8), so each plays on demand like
// any rendition.
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

// An RFC 6381 codec string for a rendition that is not running: H.264
// "avc1.PPCCLL" / HEVC "hvc1.1.6.LNN.B0" from the profile and the level its
// picture and rate need.
std::string expected_video_codecs(const std::string& encoder, const std::string& profile, int width, int height,
                                  double fps);

void add_master_playlist_route(origin::http::Router& router, origin::Origin& origin);

}  // namespace weir::transcode
