// The admin API (../shared/API.md) on its own listener (api.listen), never on
// the players' port. Every route lives under /api/v1 in the "api" route
// group, whose guard checks `Authorization: Bearer TOKEN` in constant time
// against api.token (admin role) and api.read_token (read role: GET and HEAD
// only, 403 otherwise); with no token configured the API answers loopback
// clients only (config refuses a non-loopback api.listen then). Errors are
// JSON: {"error": {"code": "not_found", "message": "...", "field": "..."}}.
//
// Routes here: GET /api/v1/version, GET /api/v1/streams (paged),
// GET /api/v1/streams/{app}/{stream}, GET /api/v1/openapi.yaml. Modules add
// theirs through add_admin_routes' group. docs/openapi.yaml describes every
// route; a unit test keeps the two in step.
//
// Thread: built on the main thread before the loops start; handlers run on
// the request's loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "origin/http/router.h"

namespace weir::origin {

class Origin;

namespace api {

// The admin router: the token guard, the JSON fallback, and the routes above.
// `openapi_yaml` is served at /api/v1/openapi.yaml.
std::shared_ptr<http::Router> build_admin_routes(Origin& origin, std::string version, std::string openapi_yaml);

// {"error": {"code": ..., "message": ..., "field": ...}} with `status`.
void respond_error(const http::ExchangeRef& ex, int status, std::string_view code, std::string_view message,
                   std::string_view field = {});

}  // namespace api
}  // namespace weir::origin
