// GET /api/v1/upstreams: the origins this edge pulls from, with their health
// (edge/origin_health.h), in template order; ?limit= and ?cursor= as every
// admin list (../shared/API.md). An origin appears once a pull has used it.
//
// Thread: add_upstream_routes() on the main thread before the loops start;
// the handler runs on an API loop. `edge` and `configs` outlive the router.
#pragma once

#include "core/config_store.h"
#include "origin/http/router.h"

namespace weir::edge {

class EdgePuller;

void add_upstream_routes(origin::http::Router& router, const core::ConfigStore& configs, EdgePuller& edge);

}  // namespace weir::edge
