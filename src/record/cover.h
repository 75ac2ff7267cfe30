// Cover images: a JPEG of the first picture of an asset, for the asset list
// and the player's poster, made from its first recorded fMP4 segment.
//
// Only libavcodec and libswscale are used: the segment is read with Weir's
// own fMP4 scan, so no demuxer is needed.
//
// Threads: blocking (reads the file, decodes, encodes, fsyncs); call it on a
// worker thread, never on an event loop. Independent calls may run at once on
// different threads (each uses its own FFmpeg contexts).
#pragma once

#include <string>

#include "core/status.h"

namespace weir::record {

// Decodes the first video keyframe of `segment_path`, a fragmented MP4 (H.264,
// HEVC, AV1 or VP9 with its decoder config record as extradata), scales it to at most `max_width`
// pixels wide keeping the display aspect ratio (sample aspect ratio applied;
// never upscaled; both dimensions even, at least 2) and writes it as a
// baseline JPEG to `jpeg_path` (written to `jpeg_path + ".tmp"`, fsynced,
// then renamed, so readers never see half a file).
//
// Errors (each names the file): the file cannot be opened or is not media
// FFmpeg knows, "no video track" (audio-only), no decoder for the codec, no
// picture decoded, dimensions outside 1..16384, max_width < 2, encoding or
// writing failed. On error no file is left at jpeg_path (nor the .tmp).
core::Status make_cover(const std::string& segment_path, const std::string& jpeg_path, int max_width = 1280);

}  // namespace weir::record
