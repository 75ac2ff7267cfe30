// Admin API of forward (restream), ../shared/API.md conventions:
//   GET    /api/v1/forwards                                 every destination (?app=, ?stream=, paged)
//   GET    /api/v1/streams/{app}/{stream}/forwards          a live stream's destinations (404: not live)
//   POST   /api/v1/streams/{app}/{stream}/forwards          {"url": "rtmp://..."}: 201 with the destination
//   DELETE /api/v1/streams/{app}/{stream}/forwards/{id}     204 (config destinations too, for this publish)
// A destination's url is shown redacted (edge/forward_url.h).
//
// Thread: add_forward_routes() on the main thread before the loops start;
// handlers run on API loops. `service` and `configs` outlive the router.
#pragma once

#include "core/config_store.h"
#include "origin/http/router.h"

namespace weir::edge {

class ForwardService;

void add_forward_routes(origin::http::Router& router, const core::ConfigStore& configs, ForwardService& service);

}  // namespace weir::edge
