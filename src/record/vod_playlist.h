// HLS VOD media playlist over recorded fMP4 segment files, by byte range: no
// media is copied, the playlist sits next to the segment files and points
// into them (URIs are the bare file names).
//
//   #EXT-X-MAP:URI="<file>",BYTERANGE="<init size>@0"   whenever the file changes
//   #EXT-X-BYTERANGE:<len>@<offset>                      a run of fragments
//
// A media segment is a run of consecutive complete fragments of one file that
// starts at an independent fragment (a video sync sample first; every
// fragment of an audio-only file) and is closed at the first independent
// fragment once it lasts target_duration_s (the first run of a file starts at
// its first fragment whatever it is). EXTINF is the run's duration on the
// primary track (video if any), 3 decimals; TARGETDURATION is the ceiling of
// the largest. EXT-X-DISCONTINUITY precedes the first run of a file whose
// tracks or sample descriptions differ from the previous file's (a codec
// config change), or whose primary track starts more than
// discontinuity_gap_s after the previous file's ended (a publisher pause:
// HLS players skip the pause; the merged MP4 keeps it as time).
//
// Pure: formats from scans; callable from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "record/segment_file.h"

namespace weir::record {

struct VodPlaylistOptions {
  double target_duration_s = 4.0;
  double discontinuity_gap_s = 1.0;
};

// `segments` in recording order (usable ones: skip those that failed to
// scan). Fails if none has a complete fragment.
core::Result<std::string> build_vod_playlist(const std::vector<SegmentFile>& segments,
                                             const VodPlaylistOptions& options = {});

}  // namespace weir::record
