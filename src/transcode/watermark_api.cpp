#include "transcode/watermark_api.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "core/loop.h"
#include "core/worker_pool.h"
#include "origin/api/admin_api.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "transcode/media_path.h"
#include "transcode/transcode_service.h"
#include "transcode/watermark_graph.h"
#include "transcode/watermark_names.h"

namespace weir::transcode {

namespace {
namespace http = origin::http;
using origin::api::respond_error;
using origin::api::respond_json;

struct Target {
  std::string app, stream;
  const core::AppConfig* cfg = nullptr;
};

// The addressed stream, or false after answering 404/409.
bool find_target(TranscodeService& svc, const http::ExchangeRef& ex, Target& t) {
  t.app = std::string(ex->param("app"));
  t.stream = std::string(ex->param("stream"));
  t.cfg = svc.origin().config().find_app(t.app);
  if (!t.cfg || !t.cfg->watermark.enabled) {
    respond_error(ex, 404, "not_found", "app " + t.app + " has no watermark (apps." + t.app + ".watermark.enabled)");
    return false;
  }
  if (!svc.origin().registry().find(t.app, t.stream)) {
    respond_error(ex, 404, "not_found", "no stream " + t.app + "/" + t.stream);
    return false;
  }
  if (svc.is_output(t.app, t.stream)) {
    respond_error(ex, 409, "conflict",
                  t.app + "/" + t.stream + " is a transcode output: set the watermark of the stream it is made from");
    return false;
  }
  return true;
}

nlohmann::json resource(const Target& t, const WatermarkSlot::State& s) {
  nlohmann::json j = watermark_json(*s.spec);
  j["app"] = t.app;
  j["stream"] = t.stream;
  j["output"] = watermark_stream_name(t.cfg->watermark, t.stream);
  j["serve"] = t.cfg->watermark.serve;
  j["clean_name"] = t.cfg->watermark.serve == "replace"
                        ? nlohmann::json(watermark_clean_name(t.cfg->watermark, t.stream))
                        : nlohmann::json(nullptr);
  j["set_by"] = s.set_by;
  return j;
}

void put_watermark(TranscodeService* svc, const http::ExchangeRef& ex) {
  Target t;
  if (!find_target(*svc, ex, t)) return;
  auto body = origin::api::json_body(ex, {"image", "text"});
  if (!body) return;
  std::string field;
  auto spec = watermark_from_json(*body, field);
  if (!spec) return respond_error(ex, 400, "bad_request", spec.error(), field);
  auto shared = std::make_shared<const WatermarkSpec>(std::move(*spec));
  auto failed_field = std::make_shared<std::string>();
  // Blocking checks (file reads, a trial graph) on the transcode pool; the
  // answer goes out from this loop when they are done.
  // Files named here must be inside transcode.media_dir (read per request:
  // reloadable); the default font (no "font" given) is the server's own.
  const bool font_named = body->contains("text") && (*body)["text"].is_object() && (*body)["text"].contains("font");
  auto work = [shared, failed_field, font_named, media_dir = svc->origin().config().transcode.media_dir]() {
    if (shared->image)
      if (core::Status st = check_media_path(media_dir, shared->image->file, "image.file"); !st) {
        *failed_field = "image.file";
        return st;
      }
    if (shared->text && font_named)
      if (core::Status st = check_media_path(media_dir, shared->text->font, "text.font"); !st) {
        *failed_field = "text.font";
        return st;
      }
    return check_watermark_files(*shared, *failed_field);
  };
  auto done = [svc, ex, t, shared, failed_field](core::Status st) {
    if (!ex->alive()) return;
    if (!st) return respond_error(ex, 400, "bad_request", st.message(), *failed_field);
    Target now = t;
    if (!find_target(*svc, ex, now)) return;  // it ended (or the config changed) meanwhile
    if (!svc->watermarks().set(now.app, now.stream, now.cfg->watermark, shared))
      return respond_error(ex, 503, "unavailable", "too many stream watermarks");
    spdlog::info("watermark {}/{}: set through the API", now.app, now.stream);
    respond_json(ex, 200, resource(now, svc->watermarks().current(now.app, now.stream, now.cfg->watermark)));
  };
  if (!svc->pool().submit(*core::Loop::current(), std::move(work), std::move(done)))
    respond_error(ex, 503, "unavailable", "the transcode pool is busy; try again");
}
}  // namespace

void add_watermark_routes(http::Router& router, const core::ConfigStore& configs, TranscodeService& service) {
  auto g = origin::api::admin_group(router, configs, "watermark");
  TranscodeService* svc = &service;
  const std::string path = "/api/v1/streams/{app}/{stream}/watermark";
  g.add("GET", path, [svc](http::ExchangeRef ex) {
    Target t;
    if (!find_target(*svc, ex, t)) return;
    respond_json(ex, 200, resource(t, svc->watermarks().current(t.app, t.stream, t.cfg->watermark)));
  });
  g.add("PUT", path, [svc](http::ExchangeRef ex) { put_watermark(svc, ex); });
  g.add("DELETE", path, [svc](http::ExchangeRef ex) {
    Target t;
    if (!find_target(*svc, ex, t)) return;
    if (!svc->watermarks().set(t.app, t.stream, t.cfg->watermark, std::make_shared<const WatermarkSpec>()))
      return respond_error(ex, 503, "unavailable", "too many stream watermarks");
    spdlog::info("watermark {}/{}: removed through the API", t.app, t.stream);
    respond_json(ex, 200, resource(t, svc->watermarks().current(t.app, t.stream, t.cfg->watermark)));
  });
}

}  // namespace weir::transcode
