// Playback of VOD assets on the players' HTTP listener:
//   GET /vod/{asset}.mp4               the merged MP4 (Range: 206 / 416)
//   GET /vod/{asset}/index.m3u8        HLS VOD playlist (byte ranges into the segments)
//   GET /vod/{asset}/seg-NNNNNN.mp4    a recorded segment (what the playlist points into)
//   GET /vod/{asset}/cover.jpg         the cover image
// The asset id is validated (valid_asset_id) and looked up in the catalogue;
// the file path comes from the catalogue row, never from the URL. Invalid ids
// get 400, unknown ids and assets not ready 404. Files are sent by
// origin/http/file_response (no blocking I/O on the loop). An uploaded asset
// (storage.s3) whose file is gone from local disk (delete_local) answers 302
// to a presigned GET URL of its object (storage.s3.presign_ttl_s). Whether
// the file is local is checked on the catalogue strand, not on the loop.
// Every request runs the admission chain (origin/admission.h) as a play of the
// asset's app/stream with protocol "vod": the app's access rules (addresses,
// Referer), signed URLs and on_play callback (its allow cached per client for
// callbacks.cache_ms), as a live play would. Assets of an app that signs
// plays (apps.<app>.sign.play_keys) need a signed URL; their index.m3u8 hands
// its segment URIs a session token lasting the asset's duration plus
// hls_session_s. An asset whose app is no longer configured is served.
//
// Thread: routes added on the main thread before the loops start; handlers run
// on the request's loop.
#pragma once

#include "origin/http/router.h"
#include "record/asset_store.h"

namespace weir::origin {
class Origin;
}

namespace weir::record {

void add_vod_routes(origin::http::Router& router, AssetStore& store, origin::Origin& origin);

}  // namespace weir::record
