// Time-shifted HTTP-FLV: GET /{app}/{stream}.flv?delay=SECONDS starts at the
// keyframe at or before (now - delay) and then plays at real-time pace, so it
// stays `delay` behind live. It replays the stream's stored MPEG-TS segments
// (memory or disk) through the TS demuxer; one demuxer per viewer, since
// each time-shifted viewer is at its own position.
//
// Thread: the request's loop. Ownership: self-owned, freed when its
// connection closes. Queue bound: at most one demuxed segment is held
// (a few MB at most); reading stops while the socket holds > 1 MiB.
#pragma once

#include <memory>

#include "origin/http/exchange.h"

namespace weir::origin {
class Origin;
class StreamHub;
}  // namespace weir::origin

namespace weir::origin::hls {

void start_flv_timeshift(Origin& origin, http::ExchangeRef ex, const std::shared_ptr<StreamHub>& hub, double delay_s);

}  // namespace weir::origin::hls
