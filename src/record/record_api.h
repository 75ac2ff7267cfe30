// The recorder's admin routes (../shared/API.md; docs/api.md lists them):
//   GET    /api/v1/assets                 list: app, stream, state, tag, title (substring),
//                                         from / to (started_at range), limit, cursor
//   GET    /api/v1/assets/{asset}
//   PATCH  /api/v1/assets/{asset}         {"title", "description", "tags"}
//   DELETE /api/v1/assets/{asset}         files and record (409 while recording/merging)
//   GET    /api/v1/recordings             recordings in progress
//   POST   /api/v1/recordings             {"app", "stream"}: record a live stream now (201)
//   DELETE /api/v1/recordings/{asset}     stop it; the asset is merged (202, poll the asset)
// and the "recording" field of a stream's record.
//
// Thread: added on the main thread before the loops start; handlers run on the
// API request's loop.
#pragma once

#include "origin/api/admin_api.h"
#include "origin/http/router.h"
#include "record/asset_store.h"
#include "record/record_service.h"

namespace weir::record {

void add_record_api(origin::http::Router& router, const core::ConfigStore& configs, AssetStore& store,
                    RecordService& service);
// Adds the "recording" field to stream records.
void add_record_stream_fields(origin::api::AdminExtensions& ext, RecordService& service);

nlohmann::json asset_json(const Asset& a);

}  // namespace weir::record
