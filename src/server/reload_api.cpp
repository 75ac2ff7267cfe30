#include "server/reload_api.h"

#include "origin/api/admin_api.h"

namespace weir::server {

void add_reload_route(origin::http::Router& router, const core::ConfigStore& configs, Reloader& reloader) {
  namespace http = origin::http;
  namespace api = origin::api;
  Reloader* r = &reloader;
  auto g = api::admin_group(router, configs, "reload");
  g.add("POST", "/api/v1/reload", [r](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!api::only_params(ex, {}, q)) return;
    if (!api::json_body(ex, {})) return;
    core::Loop* loop = core::Loop::current();
    if (!loop) return api::respond_error(ex, 503, "unavailable", "no loop");
    const bool queued = r->request(*loop, [ex](const ReloadOutcome& o) {
      if (o.ok) return api::respond_json(ex, 200, o.to_json());
      if (o.stopping) return api::respond_error(ex, 503, "unavailable", o.error);
      api::respond_error(ex, 400, "invalid_config", o.error, o.field);
    });
    if (!queued)
      api::respond_error(ex, 429, "too_many_requests",
                         "a reload is running with " + std::to_string(Reloader::kMaxWaiting) +
                             " requests waiting for it, or the server is stopping");
  });
}

}  // namespace weir::server
