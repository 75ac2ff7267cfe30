// LoopCheck: the admission check (origin/admission.h) that refuses a play or
// a publish whose chain of nodes (edge/via.h, the `weir_via` parameter)
// already names this node, or is cluster.max_hops long: 508 Loop Detected
// (RTMP: the play's or publish's error status; SRT: reject 1508). Plays carry
// the chain of edges that pulled; publishes the chain of nodes that forwarded
// (edge/forward_target.h), so a stream forwarded A -> B -> A is refused at A.
// A malformed chain is a 400. Requests without the parameter (viewers,
// encoders) pass untouched.
//
//   origin.admission().add(std::make_unique<edge::LoopCheck>(origin, node_id));  // main, before the loops
//
// Thread: any (check_now only, no I/O). `node_id` is fixed for the process
// (cluster.node_id is restart-only); max_hops is read from the current config.
#pragma once

#include <string>

#include "origin/admission.h"

namespace weir::origin {
class Origin;
}

namespace weir::edge {

class LoopCheck final : public origin::AdmissionCheck {
 public:
  LoopCheck(origin::Origin& origin, std::string node_id) : origin_(origin), node_id_(std::move(node_id)) {}
  std::string_view name() const override { return "edge-loop"; }
  std::optional<origin::AdmissionDecision> check_now(const origin::AdmissionRequest& req) override;

 private:
  origin::Origin& origin_;
  const std::string node_id_;
};

}  // namespace weir::edge
