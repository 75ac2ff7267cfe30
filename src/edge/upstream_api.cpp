#include "edge/upstream_api.h"

#include "edge/edge_puller.h"
#include "origin/api/admin_api.h"
#include "origin/api/api_format.h"

namespace weir::edge {

void add_upstream_routes(origin::http::Router& router, const core::ConfigStore& configs, EdgePuller& edge) {
  namespace api = origin::api;
  auto g = api::admin_group(router, configs, "edge");
  EdgePuller* e = &edge;
  g.add("GET", "/api/v1/upstreams", [e](origin::http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!api::only_params(ex, {"limit", "cursor"}, q)) return;
    const int64_t limit = api::limit_param(ex, q);
    if (limit < 0) return;
    std::string after;
    if (!api::cursor_param(ex, q, after)) return;
    const int64_t now = OriginHealth::now_ms();
    bool more = false;
    auto views = e->health().list(after, size_t(limit), now, more);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& v : views) {
      items.push_back({{"origin", v.origin},
                       {"state", v.down ? "down" : v.ever_connected ? "up" : "unknown"},
                       {"retry_in_ms", v.down_for_ms},
                       {"failures", v.failures},
                       {"last_error", v.last_error.empty() ? nlohmann::json() : nlohmann::json(v.last_error)},
                       {"bytes_in", v.bytes},
                       {"streams", v.streams},
                       {"pushes", v.pushes}});
    }
    nlohmann::json next;
    if (more && !views.empty()) next = api::encode_cursor(views.back().origin);
    api::respond_json(ex, 200, {{"items", items}, {"next_cursor", next}});
  });
}

}  // namespace weir::edge
