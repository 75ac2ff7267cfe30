// The clients' admin routes (../shared/API.md; docs/api.md lists them):
//   GET    /api/v1/clients                    list: app, stream, protocol, role, ip, limit, cursor
//   GET    /api/v1/clients/{id}
//   DELETE /api/v1/clients/{id}               closes the connection (202, state "closing")
//   DELETE /api/v1/streams/{app}/{stream}     ends the stream now (its publisher is closed);
//                                             ?block_s=N refuses its publishes for N s (0..86400)
// and the JSON of a client and of the client.* events.
//
// Thread: added on the main thread before the loops start (by
// build_admin_routes, in its "api" group); handlers run on the request's loop.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "origin/api/admin_api.h"
#include "origin/client_registry.h"
#include "origin/http/router.h"

namespace weir::origin::api {

void add_client_routes(http::Router::Group& g, Origin& origin, const AdminExtensions* ext);

// A client's record; `now_ms` (wall clock) gives its duration_ms.
nlohmann::json client_json(const ClientInfo& c, int64_t now_ms);
// The data of a client.connected / client.disconnected event (the latter
// with bytes_in, bytes_out, duration_ms and reason).
nlohmann::json client_event_json(const ClientEvent& e);

}  // namespace weir::origin::api
