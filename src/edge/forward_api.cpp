#include "edge/forward_api.h"

#include "edge/forward_service.h"
#include "edge/forward_url.h"
#include "origin/api/admin_api.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"

namespace weir::edge {

namespace http = origin::http;
namespace api = origin::api;

namespace {

nlohmann::json forward_json(const ForwardInfo& f) {
  return {{"id", f.id},
          {"app", f.app},
          {"stream", f.stream},
          {"url", f.url},
          {"source", to_string(f.source)},
          {"state", to_string(f.state)},
          {"since", api::rfc3339_ms(f.since_ms)},
          {"created_at", api::rfc3339_ms(f.created_ms)},
          {"bytes_out", f.bytes_out},
          {"reconnects", f.reconnects},
          {"dropped_frames", f.dropped_frames},
          {"queued_bytes", f.queued_bytes},
          {"last_error", f.last_error.empty() ? nlohmann::json() : nlohmann::json(f.last_error)}};
}

// A page of destinations (of app/stream when given), as every admin list.
void respond_list(const http::ExchangeRef& ex, const protocol::QueryParams& q, ForwardService& s,
                  const std::string& app, const std::string& stream) {
  const int64_t limit = api::limit_param(ex, q);
  if (limit < 0) return;
  std::string after;
  if (!api::cursor_param(ex, q, after)) return;
  bool more = false;
  auto items = s.list(app, stream, after, size_t(limit), more);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : items) out.push_back(forward_json(f));
  nlohmann::json next;
  if (more && !items.empty()) next = api::encode_cursor(items.back().id);
  api::respond_json(ex, 200, {{"items", out}, {"next_cursor", next}});
}

}  // namespace

void add_forward_routes(http::Router& router, const core::ConfigStore& configs, ForwardService& service) {
  auto g = api::admin_group(router, configs, "forward");
  ForwardService* s = &service;
  g.add("GET", "/api/v1/forwards", [s](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!api::only_params(ex, {"app", "stream", "limit", "cursor"}, q)) return;
    std::string app, stream;
    if (auto* v = protocol::find_query_param(q, "app")) app = std::string(*v);
    if (auto* v = protocol::find_query_param(q, "stream")) stream = std::string(*v);
    respond_list(ex, q, *s, app, stream);
  });
  g.add("GET", "/api/v1/streams/{app}/{stream}/forwards", [s](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!api::only_params(ex, {"limit", "cursor"}, q)) return;
    const std::string app(ex->param("app")), stream(ex->param("stream"));
    if (!s->origin().registry().find(app, stream))
      return api::respond_error(ex, 404, "not_found", "no live stream " + app + "/" + stream);
    respond_list(ex, q, *s, app, stream);
  });
  g.add("POST", "/api/v1/streams/{app}/{stream}/forwards", [s](http::ExchangeRef ex) {
    auto body = api::json_body(ex, {"url"});
    if (!body) return;
    if (!body->contains("url") || !(*body)["url"].is_string())
      return api::respond_error(ex, 400, "bad_request", "url is required (a string)", "url");
    const std::string app(ex->param("app")), stream(ex->param("stream"));
    auto r = s->add(app, stream, (*body)["url"].get<std::string>());
    if (!r) {
      const std::string& e = r.error();
      if (e.rfind("bad_url: ", 0) == 0) return api::respond_error(ex, 400, "bad_request", "url: " + e.substr(9), "url");
      if (e.rfind("not_found: ", 0) == 0) return api::respond_error(ex, 404, "not_found", e.substr(11));
      return api::respond_error(ex, 503, "unavailable", e.rfind("unavailable: ", 0) == 0 ? e.substr(13) : e);
    }
    api::respond_json(ex, 201, forward_json(*r));
  });
  g.add("DELETE", "/api/v1/streams/{app}/{stream}/forwards/{id}", [s](http::ExchangeRef ex) {
    const std::string id(ex->param("id"));
    if (!valid_forward_id(id)) return api::respond_error(ex, 400, "bad_request", "invalid forward id", "id");
    core::Status st = s->remove(std::string(ex->param("app")), std::string(ex->param("stream")), id);
    if (!st) {
      const std::string& e = st.message();
      if (e.rfind("not_found: ", 0) == 0) return api::respond_error(ex, 404, "not_found", e.substr(11));
      return api::respond_error(ex, 503, "unavailable", e);
    }
    ex->respond(204, {{"Cache-Control", "no-store"}}, std::string());
  });
}

}  // namespace weir::edge
