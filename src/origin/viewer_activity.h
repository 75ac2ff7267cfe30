// Whether a stream is being watched, for sources that run only while someone
// watches (the edge's upstream pulls, on-demand transcodes): a play client of
// the stream is connected (RTMP, SRT, HTTP-FLV, WS-FLV, .ts), or its HLS
// playlists or segments were requested within the last `hls_recent_ms`.
//
// Any thread (the client registry and the HLS service take their own locks).
#pragma once

#include <cstdint>
#include <string_view>

namespace weir::origin {

class Origin;
class StreamHub;

// `hub` may be null (no HLS state looked up then).
bool has_viewers(Origin& origin, std::string_view app, std::string_view stream, const StreamHub* hub,
                 int64_t hls_recent_ms);

}  // namespace weir::origin
