// LogLimiter: lets one line through per interval and counts the rest, so a
// peer that repeats a fault (garbage timestamps on every frame) costs one
// log line every few seconds, not one per packet:
//
//   if (auto n = limiter_.allow(now_ms)) spdlog::warn("... ({} similar before)", *n - 1);
//
// Not synchronised: one per owner, used under the owner's lock or on its loop.
#pragma once

#include <cstdint>
#include <optional>

namespace weir::core {

class LogLimiter {
 public:
  explicit LogLimiter(int64_t interval_ms = 5000) : interval_ms_(interval_ms) {}
  // Events since the last line that got through, this one included, when a
  // line may be written now; nullopt when it must be left out.
  std::optional<uint64_t> allow(int64_t now_ms) {
    ++pending_;
    if (last_ms_ >= 0 && now_ms - last_ms_ < interval_ms_) return std::nullopt;
    last_ms_ = now_ms;
    uint64_t n = pending_;
    pending_ = 0;
    return n;
  }

 private:
  int64_t interval_ms_;
  int64_t last_ms_ = -1;
  uint64_t pending_ = 0;
};

}  // namespace weir::core
