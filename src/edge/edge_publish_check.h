// EdgePublishCheck: the admission check (origin/admission.h) that refuses an
// encoder's publish on an edge app (upstream.urls or upstream.discover set)
// whose apps.<app>.upstream.publish is `refuse`: 403, "publish to an origin".
// `forward` and `local` publishes pass (ForwardService pushes the former on).
//
//   origin.admission().add(std::make_unique<edge::EdgePublishCheck>());  // main, before the loops
//
// Thread: any (check_now only, no I/O); reads the app's current config.
#pragma once

#include "origin/admission.h"

namespace weir::origin {
class Origin;
}

namespace weir::edge {

class EdgePublishCheck final : public origin::AdmissionCheck {
 public:
  explicit EdgePublishCheck(origin::Origin& origin) : origin_(origin) {}
  std::string_view name() const override { return "edge-publish"; }
  std::optional<origin::AdmissionDecision> check_now(const origin::AdmissionRequest& req) override;

 private:
  origin::Origin& origin_;
};

}  // namespace weir::edge
