// Admission and play requests for HTTP routes (HTTP-FLV, WS-FLV, .ts, HLS):
// the request built from the exchange (client address, query parameters),
// refusals answered with their HTTP status and reason, and the check held,
// then cancelled if the client goes away first.
//
// Thread: the exchange's loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "origin/admission.h"
#include "origin/http/exchange.h"

namespace weir::origin {

class Origin;
class StreamHub;

// The admission request for app/stream from `ex`. A malformed query string
// is answered 400 here, and nullopt returned.
std::optional<AdmissionRequest> http_admission_request(const http::ExchangeRef& ex, Direction direction,
                                                       AccessProtocol protocol, std::string app, std::string stream);

// Runs admission; refusals are answered here; `then` runs on the loop if
// admitted and the client is still there.
void admit_http(Origin& origin, const http::ExchangeRef& ex, AdmissionRequest req, std::function<void()> then);

// Runs a PlayRequest (admission, then the stream, waiting up to the app's
// play_wait_ms); refusals and "not published" are answered here; `then` gets
// the live stream if the client is still there.
void play_http(Origin& origin, const http::ExchangeRef& ex, AdmissionRequest req,
               std::function<void(std::shared_ptr<StreamHub>)> then);

}  // namespace weir::origin
