#include "edge/edge_publish_check.h"

#include "core/config.h"
#include "origin/origin.h"

namespace weir::edge {

using origin::AdmissionDecision;

std::optional<AdmissionDecision> EdgePublishCheck::check_now(const origin::AdmissionRequest& req) {
  if (req.direction != origin::Direction::kPublish) return AdmissionDecision::allow();
  auto cfg = origin_.config_ptr();  // kept while the app's settings are read
  const core::AppConfig* app = cfg->find_app(req.app);
  if (!app || app->upstream.publish != "refuse" || (app->upstream.urls.empty() && !app->upstream.discover))
    return AdmissionDecision::allow();
  return AdmissionDecision::deny(origin::Refusal::kForbidden,
                                 "app '" + req.app + "' is an edge that takes no publish (upstream.publish: refuse): "
                                 "publish to an origin");
}

}  // namespace weir::edge
