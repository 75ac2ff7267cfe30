// Admin routes of the transcoder (../shared/API.md):
//   GET /api/v1/transcodes   the running jobs (one per source stream), with
//                            their outputs and frame counters; ?limit, ?cursor.
// and the live watermark routes (watermark_api.h).
//
// Thread: add_transcode_routes() on the main thread before the loops start;
// the handler runs on an API loop. `service` and `configs` outlive the router.
#pragma once

#include "core/config_store.h"
#include "origin/http/router.h"

namespace weir::transcode {

class TranscodeService;

void add_transcode_routes(origin::http::Router& router, const core::ConfigStore& configs, TranscodeService& service);

}  // namespace weir::transcode
