// Wall clock. Loops use uv_now() (monotonic, cached per iteration) for
// timeouts; this is for what users see: program date-times, time-shift
// positions, arrival stamps.
#pragma once

#include <chrono>
#include <cstdint>

namespace weir::core {

// Milliseconds since the Unix epoch.
inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace weir::core
