// The admin API (../shared/API.md) on its own listener (api.listen), never on
// the players' port. Every route lives under /api/v1 in the "api" route
// group, whose guard checks `Authorization: Bearer TOKEN` in constant time
// against api.token (admin role) and api.read_token (read role: GET and HEAD
// only, 403 otherwise); with no token configured the API answers loopback
// clients only (config refuses a non-loopback api.listen then). Errors are
// JSON: {"error": {"code": "not_found", "message": "...", "field": "..."}}.
//
// Routes here: GET /api/v1/version, GET /api/v1/streams (paged),
// GET /api/v1/streams/{app}/{stream}, GET /api/v1/openapi.yaml, and the
// clients' routes (client_api.h). Modules add
// theirs through admin_group() (same guard) with the helpers below, and add
// fields to a stream's record through AdminExtensions. docs/openapi.yaml
// describes every route; a unit test keeps the two in step.
//
// Thread: built on the main thread before the loops start; handlers run on
// the request's loop.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/config_store.h"
#include "origin/http/router.h"
#include "protocol/query_params.h"

namespace weir::origin {

class Origin;
struct StreamStats;

namespace api {

// What modules add to the core routes' answers. Set on the main thread before
// the loops start; the functions run on API loops and must be thread-safe.
struct AdminExtensions {
  // Adds fields to a stream's record (GET /streams, /streams/{app}/{stream}),
  // e.g. "recording": {...}.
  std::vector<std::function<void(const std::string& app, const std::string& stream, nlohmann::json& record)>>
      stream_fields;
};

// The admin router: the token guard, the JSON fallback, and the routes above.
// `openapi_yaml` is served at /api/v1/openapi.yaml. `ext` must outlive the router.
std::shared_ptr<http::Router> build_admin_routes(Origin& origin, std::string version, std::string openapi_yaml,
                                                 const AdminExtensions* ext = nullptr);

// A route group on `router` behind the admin API's token guard (the tokens
// of the current config generation: a reload changes them): how modules add
// their routes (main thread, before the loops start). `configs` outlives the router.
http::Router::Group admin_group(http::Router& router, const core::ConfigStore& configs, std::string name);

// JSON answer (Cache-Control: no-store).
void respond_json(const http::ExchangeRef& ex, int status, const nlohmann::json& body);

// The query parameters a route takes; anything else is answered 400 naming
// it. False when it answered.
bool only_params(const http::ExchangeRef& ex, std::initializer_list<std::string_view> allowed,
                 protocol::QueryParams& out);

// The request body as a JSON object whose keys are all in `allowed`: 415 for
// another Content-Type, 400 for bad JSON or an unknown field (named). The
// body is already capped by the HTTP server. nullopt when it answered.
std::optional<nlohmann::json> json_body(const http::ExchangeRef& ex, std::initializer_list<std::string_view> allowed);

// ?limit= (default 50, 1..1000); -1 when it answered 400.
int64_t limit_param(const http::ExchangeRef& ex, const protocol::QueryParams& q);
// ?cursor= decoded into `after` ("" without one); false when it answered 400.
bool cursor_param(const http::ExchangeRef& ex, const protocol::QueryParams& q, std::string& after);

// A paged list keyed by strings: `page(after, limit, more, last_key)` gives
// up to `limit` items after the key `after`, sets `more` when others follow
// and `last_key` to the last item's key.
using PageFn = std::function<nlohmann::json(const std::string& after, size_t limit, bool& more, std::string& last_key)>;
// A list route's whole answer: only ?limit and ?cursor taken (400 naming
// anything else), then {"items": [...], "next_cursor": "..." | null}.
void respond_page(const http::ExchangeRef& ex, const PageFn& page);

// A stream's record (GET /streams/{app}/{stream}) with the modules' fields.
nlohmann::json stream_record(const StreamStats& s, const AdminExtensions* ext);

// {"error": {"code": ..., "message": ..., "field": ...}} with `status`.
void respond_error(const http::ExchangeRef& ex, int status, std::string_view code, std::string_view message,
                   std::string_view field = {});

}  // namespace api
}  // namespace weir::origin
