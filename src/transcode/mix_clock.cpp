#include "transcode/mix_clock.h"

namespace weir::transcode {

void MixClock::observe(int64_t ts, int64_t now) {
  const int64_t want = now - ts + kDelayMs;  // this packet presented kDelayMs after its arrival
  if (!anchored_) {
    anchored_ = true;
    offset_ = want;
    settle_until_ = now + kSettleMs;
    return;
  }
  if (now < settle_until_) {
    if (want < offset_) offset_ = want;  // closer to the live edge than what came before
    return;
  }
  const int64_t at = ts + offset_;
  if (at < now || at > now + kDelayMs + kEarlyMs) {
    offset_ = want;
    reanchors_++;
  }
}

}  // namespace weir::transcode
