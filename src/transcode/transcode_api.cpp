#include "transcode/transcode_api.h"

#include "origin/api/admin_api.h"
#include "origin/api/api_format.h"
#include "transcode/transcode_service.h"
#include "transcode/watermark_api.h"

namespace weir::transcode {

void add_transcode_routes(origin::http::Router& router, const core::ConfigStore& configs, TranscodeService& service) {
  namespace api = origin::api;
  auto g = api::admin_group(router, configs, "transcode");
  TranscodeService* svc = &service;
  g.add("GET", "/api/v1/transcodes", [svc](origin::http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!api::only_params(ex, {"limit", "cursor"}, q)) return;
    const int64_t limit = api::limit_param(ex, q);
    if (limit < 0) return;
    std::string after;
    if (!api::cursor_param(ex, q, after)) return;
    bool more = false;
    std::string last;
    nlohmann::json items = svc->jobs_json(after, size_t(limit), more, last);
    nlohmann::json next;
    if (more) next = api::encode_cursor(last);
    api::respond_json(ex, 200, {{"items", std::move(items)}, {"next_cursor", next}});
  });
  add_watermark_routes(router, configs, service);
}

}  // namespace weir::transcode
