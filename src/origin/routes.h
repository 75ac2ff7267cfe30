// The players' HTTP routes: media (HTTP-FLV, WS-FLV, .ts, HLS, LL-HLS), health
// and metrics (the admin API has its own listener: api/admin_api.h). Built
// once before the loops start; modules may add routes then, and the Router is
// immutable afterwards, shared by every loop's HttpServer.
#pragma once

#include <memory>

#include "origin/http/router.h"

namespace weir::origin {

class Origin;

std::shared_ptr<http::Router> build_routes(Origin& origin);

}  // namespace weir::origin
