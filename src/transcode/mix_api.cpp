#include "transcode/mix_api.h"

#include <memory>

#include "core/config.h"
#include "core/loop.h"
#include "core/worker_pool.h"
#include "origin/api/admin_api.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"
#include "transcode/media_path.h"
#include "transcode/mix_background.h"
#include "transcode/mix_service.h"

namespace weir::transcode {

namespace {

namespace api = origin::api;
namespace http = origin::http;

void answer(const http::ExchangeRef& ex, int ok_status, std::variant<nlohmann::json, MixError> r) {
  if (auto* e = std::get_if<MixError>(&r)) return api::respond_error(ex, e->status, e->code, e->message, e->field);
  api::respond_json(ex, ok_status, std::get<nlohmann::json>(r));
}

// The {id} of the path, or false after answering 400.
bool id_param(const http::ExchangeRef& ex, std::string& id) {
  id = std::string(ex->param("id"));
  if (MixService::valid_id(id)) return true;
  api::respond_error(ex, 400, "bad_request", "malformed mix id", "id");
  return false;
}

// `then` on this loop, after the body's background image (if it names one)
// was found inside transcode.media_dir and drawable on the transcode pool
// (blocking file I/O); else a 400 naming background.image.
template <class Then>
void after_image_check(MixService* s, const http::ExchangeRef& ex, const nlohmann::json& body, Then then) {
  auto image = mix_background_image(body);
  if (!image) return then();
  const std::string media_dir = s->origin().config().transcode.media_dir;
  auto work = [media_dir, path = *image]() -> core::Status {
    if (core::Status st = check_media_path(media_dir, path, "background.image"); !st) return st;
    auto trial = make_mix_background(640, 360, 0, path);
    return trial ? core::Status::ok() : trial.status();
  };
  auto done = [ex, then](core::Status st) {
    if (!ex->alive()) return;
    if (!st) return api::respond_error(ex, 400, "bad_request", st.message(), "background.image");
    then();
  };
  if (!s->pool().submit(*core::Loop::current(), std::move(work), std::move(done)))
    api::respond_error(ex, 503, "unavailable", "the transcode pool is busy; try again");
}

}  // namespace

void add_mix_routes(http::Router& router, const core::ConfigStore& configs, MixService& service) {
  auto g = api::admin_group(router, configs, "mix");
  MixService* s = &service;
  g.add("POST", "/api/v1/mixes", [s](http::ExchangeRef ex) {
    auto body = api::json_body(ex, {"app", "name", "width", "height", "fps", "background", "on_input_loss", "layout",
                                    "inputs", "video", "audio"});
    if (!body) return;
    after_image_check(s, ex, *body, [s, ex, b = *body] { answer(ex, 201, s->create(b)); });
  });
  g.add("GET", "/api/v1/mixes", [s](http::ExchangeRef ex) {
    api::respond_page(ex, [s](const std::string& after, size_t limit, bool& more, std::string& last) {
      return s->list(after, limit, more, last);
    });
  });
  g.add("GET", "/api/v1/mixes/{id}", [s](http::ExchangeRef ex) {
    std::string id;
    if (!id_param(ex, id)) return;
    answer(ex, 200, s->get(id));
  });
  g.add("PATCH", "/api/v1/mixes/{id}", [s](http::ExchangeRef ex) {
    std::string id;
    if (!id_param(ex, id)) return;
    // Fields that cannot change are named by the service (400), not as unknown.
    auto body = api::json_body(ex, {"layout", "inputs", "background", "on_input_loss", "app", "name", "width",
                                    "height", "fps", "video", "audio"});
    if (!body) return;
    after_image_check(s, ex, *body, [s, ex, id, b = *body] { answer(ex, 200, s->update(id, b)); });
  });
  g.add("DELETE", "/api/v1/mixes/{id}", [s](http::ExchangeRef ex) {
    std::string id;
    if (!id_param(ex, id)) return;
    if (auto e = s->remove(id)) return api::respond_error(ex, e->status, e->code, e->message, e->field);
    ex->respond(204, {{"Cache-Control", "no-store"}}, std::string());
  });
}

}  // namespace weir::transcode
