// The HTTP routes of the origin: media (HTTP-FLV / WS-FLV), health, metrics
// and the read-only admin API. Built once before the loops start; the Router
// is immutable afterwards and shared by every loop's HttpServer.
#pragma once

#include <memory>

#include "origin/http/router.h"

namespace weir::origin {

class Origin;

std::shared_ptr<const http::Router> build_routes(Origin& origin);

}  // namespace weir::origin
