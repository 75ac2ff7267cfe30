// FlvPlaySession: one HTTP-FLV or WebSocket-FLV viewer. Writes the FLV header
// (its own 13 bytes, from static storage), then hands the socket to a
// StreamWriter, which sends the shared per-packet FLV framing.
//
// Thread: its loop. Ownership: frees itself when the HTTP layer reports the
// connection closed (StreamSink::on_closed).
#pragma once

#include <memory>
#include <string>

#include "origin/http/http_server.h"
#include "origin/stream_writer.h"

namespace weir::origin {

class Origin;
class StreamHub;

// Route handler for GET /{app}/{stream}.flv (plain or WebSocket upgrade).
void handle_flv_request(Origin& origin, http::ExchangeRef ex);

// Splits "/app/stream.ext" into app and stream; false if the path has another shape.
bool split_stream_path(std::string_view path, std::string_view ext, std::string& app, std::string& stream);

}  // namespace weir::origin
