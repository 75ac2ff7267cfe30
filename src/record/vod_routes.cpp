#include "record/vod_routes.h"

#include <cmath>
#include <functional>
#include <memory>

#include "core/async_fs.h"
#include "origin/hls/cache_policy.h"
#include "origin/http/file_response.h"
#include "origin/http_admission.h"
#include "origin/origin.h"
#include "origin/signed_url_check.h"
#include "protocol/url_signing.h"
#include "record/asset_id.h"
#include "record/asset_recording.h"

namespace weir::record {

namespace http = origin::http;

namespace {

constexpr size_t kMaxPlaylistBytes = 8 << 20;

struct Vod {
  Vod(AssetStore& s, origin::Origin& o) : store(&s), origin(&o) {}
  AssetStore* store;
  origin::Origin* origin;
};

// A play of the asset runs the admission chain (origin/admission.h) as a play
// of its app/stream with protocol "vod": the app's access rules (addresses,
// Referer), signed URLs (a full token, or the session token of the asset's
// playlist) and on_play callback. Refusals are answered by admit_http (403,
// 503 when a callback failed closed; 400 for a query that does not parse).
// An asset of an app no longer configured has no rules to apply: served.
void admit(Vod* vod, const http::ExchangeRef& ex, const Asset& a, std::function<void()> then) {
  if (!vod->origin->config().find_app(a.app)) return then();
  auto req = origin::http_admission_request(ex, origin::Direction::kPlay, origin::AccessProtocol::kVod, a.app, a.stream);
  if (!req) return;
  origin::admit_http(*vod->origin, ex, std::move(*req), std::move(then));
}

// Sends `name` of an admitted asset. A signed app's index.m3u8 hands its
// segment URIs a session token; an uploaded asset whose file is no longer on
// local disk is redirected to a presigned URL of its object.
void send(Vod* vod, const http::ExchangeRef& ex, const AssetStore::Located& located, const std::string& name,
          const std::string& type) {
  const Asset& a = located.asset;
  const core::AppConfig* app = vod->origin->config().find_app(a.app);
  if (name == "index.m3u8" && app && app->sign.signs_play()) {
    // Its segment URIs get a session token lasting the asset's duration
    // plus hls_session_s (a VOD playlist is not reloaded).
    std::string hs = origin::hls_session_param(*app, a.app, a.stream, ex->peer(),
                                               app->sign.hls_session_s + int64_t(std::ceil(a.duration_s)));
    core::read_file_async(ex->loop(), a.dir + "/" + name, kMaxPlaylistBytes,
                          [ex, hs = std::move(hs), type](core::Result<core::Slice> body) {
                            if (!ex->alive()) return;
                            if (!body) return ex->respond_text(404, "asset playlist unreadable");
                            ex->respond(200, {{"Content-Type", type},
                                              {"Cache-Control", origin::hls::cache_control(
                                                                    origin::hls::CacheKind::kViewerPlaylist, nullptr)}},
                                        protocol::add_param_to_playlist_uris(core::as_chars(body->view()), hs));
                          });
    return;
  }
  if (!located.local && a.state == AssetState::kUploaded && !a.remote.empty()) {
    if (auto url = vod->store->presigned_url(a, name))
      return ex->respond(302, {{"Location", *url}, {"Cache-Control", "no-store"}}, std::string());
    return ex->respond_text(404, "asset file is only in object storage, and storage.s3 is off");
  }
  http::FileResponseOptions opt;
  opt.content_type = type;
  // Assets never change once ready (a deleted one disappears: 404, and from
  // caches within kImmutableMaxAgeS).
  opt.cache_control = origin::hls::cache_control(origin::hls::CacheKind::kVodFile, app);
  http::respond_file(ex, a.dir + "/" + name, std::move(opt));
}

// Looks the asset up and sends `file` (a name inside its directory) once it is
// playable and the client admitted. `file` empty: the merged MP4.
void serve(Vod* vod, const http::ExchangeRef& ex, std::string file, std::string type, bool need_ready) {
  std::string id(ex->param("asset"));
  if (!valid_asset_id(id)) return ex->respond_text(400, "invalid asset id");
  vod->store->locate(ex->loop(), id, file, [vod, ex, file, type = std::move(type), need_ready](
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
    auto located = std::make_shared<const AssetStore::Located>(std::move(**r));
    admit(vod, ex, located->asset, [vod, ex, located, name = std::move(name), type] {
      send(vod, ex, *located, name, type);
    });
  });
}

// "<digits>.jpg" / "<digits>.png" (the names add_thumbnail gives): its
// content type; null for any other name, so nothing else reaches a path.
const char* thumbnail_type(std::string_view f) {
  size_t digits = 0;
  while (digits < f.size() && f[digits] >= '0' && f[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return nullptr;
  std::string_view ext = f.substr(digits);
  if (ext == ".jpg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  return nullptr;
}

}  // namespace

void add_vod_routes(http::Router& router, AssetStore& store, origin::Origin& origin) {
  // Shared by the handlers, which live as long as the router.
  auto vod = std::make_shared<Vod>(store, origin);
  router.add("GET", "/vod/{asset}.mp4", [vod](http::ExchangeRef ex) { serve(vod.get(), ex, "", "video/mp4", true); });
  router.add("GET", "/vod/{asset}/{file}", [vod](http::ExchangeRef ex) {
    Vod* s = vod.get();
    std::string_view f = ex->param("file");
    if (f == "index.m3u8") return serve(s, ex, "index.m3u8", "application/vnd.apple.mpegurl", true);
    if (f == "cover.jpg") return serve(s, ex, "cover.jpg", "image/jpeg", true);
    if (is_segment_name(f)) return serve(s, ex, std::string(f), "video/mp4", true);
    ex->respond_text(404, "no such file");
  });
  // Thumbnails (AssetStore::add_thumbnail), also while the asset records.
  router.add("GET", "/vod/{asset}/thumbs/{file}", [vod](http::ExchangeRef ex) {
    std::string_view f = ex->param("file");
    const char* type = thumbnail_type(f);
    if (!type) return ex->respond_text(404, "no such file");
    serve(vod.get(), ex, "thumbs/" + std::string(f), type, false);
  });
}

}  // namespace weir::record
