#include "record/vod_routes.h"

#include <algorithm>

#include "origin/http/file_response.h"
#include "record/asset_id.h"
#include "record/asset_recording.h"

namespace weir::record {

namespace http = origin::http;

namespace {

// Looks the asset up and sends `file` (a name inside its directory) once it is
// playable. `file` empty: the merged MP4. An uploaded asset whose file is no
// longer on local disk is redirected to a presigned URL of its object.
void serve(AssetStore* store, const http::ExchangeRef& ex, std::string file, std::string type, bool need_ready) {
  std::string id(ex->param("asset"));
  if (!valid_asset_id(id)) return ex->respond_text(400, "invalid asset id");
  store->locate(ex->loop(), id, file, [store, ex, file, type = std::move(type), need_ready](
                                          core::Result<std::optional<AssetStore::Located>> r) {
    if (!ex->alive()) return;
    if (!r) return ex->respond_text(503, "catalogue unavailable");
    if (!*r) return ex->respond_text(404, "no such asset");
    const Asset& a = (*r)->asset;
    const bool ready = a.state == AssetState::kReady || a.state == AssetState::kUploaded ||
                       a.state == AssetState::kUploading;
    if (need_ready && !ready) return ex->respond_text(404, "asset is not ready (" + std::string(to_string(a.state)) + ")");
    std::string name = file.empty() ? a.mp4 : file;
    if (name.empty()) return ex->respond_text(404, "asset has no such file");
    if (file == "cover.jpg" && a.cover.empty()) return ex->respond_text(404, "asset has no cover");
    if (!(*r)->local && a.state == AssetState::kUploaded && !a.remote.empty()) {
      if (auto url = store->presigned_url(a, name))
        return ex->respond(302, {{"Location", *url}, {"Cache-Control", "no-store"}}, std::string());
      return ex->respond_text(404, "asset file is only in object storage, and storage.s3 is off");
    }
    http::FileResponseOptions opt;
    opt.content_type = type;
    // Assets never change once ready; a deleted one disappears (404).
    opt.cache_control = "public, max-age=3600";
    http::respond_file(ex, a.dir + "/" + name, std::move(opt));
  });
}

}  // namespace

void add_vod_routes(http::Router& router, AssetStore& store) {
  AssetStore* s = &store;
  router.add("GET", "/vod/{asset}.mp4", [s](http::ExchangeRef ex) { serve(s, ex, "", "video/mp4", true); });
  router.add("GET", "/vod/{asset}/{file}", [s](http::ExchangeRef ex) {
    std::string_view f = ex->param("file");
    if (f == "index.m3u8") return serve(s, ex, "index.m3u8", "application/vnd.apple.mpegurl", true);
    if (f == "cover.jpg") return serve(s, ex, "cover.jpg", "image/jpeg", true);
    if (is_segment_name(f)) return serve(s, ex, std::string(f), "video/mp4", true);
    ex->respond_text(404, "no such file");
  });
}

}  // namespace weir::record
