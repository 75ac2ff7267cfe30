// Admin routes of the mixer (../shared/API.md, docs/api.md "Mixes"):
//   POST   /api/v1/mixes         create a mix (201 with its record)
//   GET    /api/v1/mixes         the mixes; ?limit, ?cursor
//   GET    /api/v1/mixes/{id}    one mix
//   PATCH  /api/v1/mixes/{id}    change layout, inputs, gains, background, on_input_loss
//   DELETE /api/v1/mixes/{id}    stop it (204)
//
// Thread: add_mix_routes() on the main thread before the loops start; the
// handlers run on an API loop. `service` and `configs` outlive the router.
#pragma once

#include "core/config_store.h"
#include "origin/http/router.h"

namespace weir::transcode {

class MixService;

void add_mix_routes(origin::http::Router& router, const core::ConfigStore& configs, MixService& service);

}  // namespace weir::transcode
