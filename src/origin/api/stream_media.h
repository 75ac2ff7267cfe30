// What a stream's admin record says about its media and its audience:
//   "video": {"codec", "codecs" (RFC 6381), "width", "height", "frame_rate"}
//   "audio": {"codec", "codecs", "sample_rate", "channels"}
//   "bitrate_in_bps": measured over the media in the GOP cache (its bytes over
//                     its duration: the last seconds, up to gop_cache_max_ms)
// and, for one stream (with_viewers), from the client registry:
//   "viewers": {"total", "by_protocol": {"rtmp": n, ...}}, "bytes_out" (the
//   viewers connected now), "bitrate_out_bps" (bitrate_in_bps x viewers).
// The codec details come from the stream's decoder configs, parsed the way
// the fMP4 packager parses them. frame_rate is the average since the stream
// was published (a publisher's pause lowers it).
//
// Thread: any (reads the hub and the registry under their own locks).
#pragma once

#include <nlohmann/json.hpp>

namespace weir::origin {
class Origin;
class StreamHub;
}  // namespace weir::origin

namespace weir::origin::api {

void add_stream_media(Origin& origin, const StreamHub& hub, bool with_viewers, nlohmann::json& record);

}  // namespace weir::origin::api
