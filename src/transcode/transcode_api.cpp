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
    api::respond_page(ex, [svc](const std::string& after, size_t limit, bool& more, std::string& last) {
      return svc->jobs_json(after, limit, more, last);
    });
  });
  add_watermark_routes(router, configs, service);
}

}  // namespace weir::transcode
