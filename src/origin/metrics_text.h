// Prometheus text exposition of the origin's counters and gauges.
#pragma once

#include <string>

namespace weir::origin {

class Origin;

// Builds the /metrics body (counters from Metrics, gauges computed now).
std::string metrics_text(Origin& origin);

}  // namespace weir::origin
