// HTTP play: HTTP-FLV, WebSocket-FLV and HTTP MPEG-TS viewers. Each viewer
// gets its own container header (FLV: 13 static bytes; TS: none, the shared
// TS carries PAT/PMT before every keyframe), then its socket is handed to a
// StreamWriter, which sends the shared per-packet framing.
//
// Thread: the request's loop. Ownership: a session frees itself when the
// HTTP layer reports the connection closed (StreamSink::on_closed). Each
// viewer is listed in the origin's ClientRegistry while it plays.
#pragma once

#include <memory>
#include <string>

#include "origin/http/http_server.h"
#include "origin/stream_writer.h"

namespace weir::origin {

class Origin;
class StreamHub;

// GET /{app}/{stream}.flv (plain or WebSocket upgrade; ?delay= time-shift).
void handle_flv_request(Origin& origin, http::ExchangeRef ex);
// GET /{app}/{stream}.ts: live MPEG-TS over HTTP.
void handle_ts_request(Origin& origin, http::ExchangeRef ex);

}  // namespace weir::origin
