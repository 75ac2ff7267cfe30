// POST /api/v1/reload: re-reads the config (Reloader) and answers with the
// outcome: 200 {"result":"ok","generation":N,"changed":[...],
// "restart_required":[...],"restarted":[...],"warnings":[...],
// "listeners":{...}}, or 400 {"error":{"code":"invalid_config",
// "message":...,"field":...}} with the running config unchanged; 429 when
// Reloader::kMaxWaiting requests wait already, 503 once shutting down.
//
// Thread: added on the main thread before the loops start; the handler runs
// on the request's loop and answers there. `configs` and `reloader` outlive
// the router.
#pragma once

#include "core/config_store.h"
#include "origin/http/router.h"
#include "server/reloader.h"

namespace weir::server {

void add_reload_route(origin::http::Router& router, const core::ConfigStore& configs, Reloader& reloader);

}  // namespace weir::server
