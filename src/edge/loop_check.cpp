#include "edge/loop_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/config.h"
#include "edge/via.h"
#include "origin/origin.h"

namespace weir::edge {

using origin::AdmissionDecision;
using origin::Refusal;

std::optional<AdmissionDecision> LoopCheck::check_now(const origin::AdmissionRequest& req) {
  const std::string_view raw = req.param(kViaParam);
  if (raw.empty()) return AdmissionDecision::allow();
  auto chain = parse_via(raw);
  if (!chain) return AdmissionDecision::deny(Refusal::kBadRequest, chain.error());
  const bool play = req.direction == origin::Direction::kPlay;
  if (std::find(chain->begin(), chain->end(), node_id_) != chain->end())
    return AdmissionDecision::deny(
        Refusal::kLoopDetected,
        play ? fmt::format("edge loop: this node ({}) is already in the pull's chain {}", node_id_, raw)
             : fmt::format("forward loop: this node ({}) is already in the publish's chain {}", node_id_, raw));
  const int64_t max_hops = origin_.config().cluster.max_hops;
  if (int64_t(chain->size()) >= max_hops)
    return AdmissionDecision::deny(Refusal::kLoopDetected,
                                   fmt::format("edge chain {} has {} nodes: cluster.max_hops is {}", raw,
                                               chain->size(), max_hops));
  return AdmissionDecision::allow();
}

}  // namespace weir::edge
