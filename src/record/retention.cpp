#include "record/retention.h"

#include <algorithm>
#include <limits>

namespace weir::record {

namespace {

bool deletable(AssetState s) {
  return s == AssetState::kReady || s == AssetState::kUploaded || s == AssetState::kFailed;
}

uint64_t add_saturating(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

}  // namespace

std::vector<std::string> plan_retention(std::vector<RetentionItem> assets, int64_t now_ms, int64_t max_age_s,
                                        uint64_t max_bytes) {
  std::sort(assets.begin(), assets.end(), [](const RetentionItem& a, const RetentionItem& b) {
    if (a.started_at_ms != b.started_at_ms) return a.started_at_ms < b.started_at_ms;
    return a.id < b.id;
  });
  std::vector<std::string> out;
  std::vector<bool> gone(assets.size(), false);
  uint64_t total = 0;
  for (const auto& a : assets) total = add_saturating(total, a.bytes);

  if (max_age_s > 0) {
    // Older than the limit: started before now - max_age (saturating, so a
    // huge max_age keeps everything).
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    int64_t age_ms = max_age_s > std::numeric_limits<int64_t>::max() / 1000 ? std::numeric_limits<int64_t>::max()
                                                                            : max_age_s * 1000;
    int64_t cutoff = now_ms < kMin + age_ms ? kMin : now_ms - age_ms;
    for (size_t i = 0; i < assets.size(); ++i) {
      if (!deletable(assets[i].state) || assets[i].started_at_ms >= cutoff) continue;
      gone[i] = true;
      total -= std::min(total, assets[i].bytes);
      out.push_back(assets[i].id);
    }
  }
  if (max_bytes > 0) {
    for (size_t i = 0; i < assets.size() && total > max_bytes; ++i) {
      if (gone[i] || !deletable(assets[i].state)) continue;
      gone[i] = true;
      total -= std::min(total, assets[i].bytes);
      out.push_back(assets[i].id);
    }
  }
  return out;
}

}  // namespace weir::record
