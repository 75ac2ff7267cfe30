// SRT publisher: streams an MPEG-TS file to srt://host:port?streamid=... in a
// loop at real-time pace, in 1316-byte (7 x 188) messages, as a live-mode SRT
// caller. The file is demuxed once (Weir's TsDemuxer) and re-muxed on the
// fly (TsMuxer), so timestamps keep increasing across loops and --probe can
// put a latency SEI first in every H.264 access unit.
//
// Thread: the main thread (libsrt's blocking calls; one connection).
#pragma once

#include "loadgen/options.h"

namespace weir::loadgen {

int run_srt_publisher(const Options& options);

}  // namespace weir::loadgen
