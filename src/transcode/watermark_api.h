// Admin routes of live watermarks (../shared/API.md), for streams of apps
// with apps.<app>.watermark.enabled:
//   GET    /api/v1/streams/{app}/{stream}/watermark  the watermark now
//   PUT    /api/v1/streams/{app}/{stream}/watermark  set or change it: body
//          {"image": {...}, "text": {...}} (at least one); 200 with the
//          watermark as it now is, once its files were checked (an image
//          FFmpeg decodes, a font FreeType loads: on the transcode pool, the
//          answer comes back on the API loop); 400 naming the field otherwise
//   DELETE /api/v1/streams/{app}/{stream}/watermark  no watermark (200, as GET)
// {stream} is the published name (the source). 404: the stream is not live
// or its app has no watermark; 409: the stream is a transcode output. The
// running job draws a change from its next frame (WatermarkBoard).
//
// Thread: add_watermark_routes() on the main thread before the loops start;
// handlers on an API loop. `service` and `configs` outlive the router.
#pragma once

#include "core/config_store.h"
#include "origin/http/router.h"

namespace weir::transcode {

class TranscodeService;

void add_watermark_routes(origin::http::Router& router, const core::ConfigStore& configs, TranscodeService& service);

}  // namespace weir::transcode
