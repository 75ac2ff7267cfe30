// Retention: which assets of one app to delete so that the app keeps within
// its age and size limits. A pure planning function: it reads no clock,
// touches no file; the recorder feeds it the app's assets from the catalogue
// (Catalogue::oldest_first with every state) and deletes what it returns.
// Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "record/asset.h"

namespace weir::record {

// What retention needs to know of an asset.
struct RetentionItem {
  std::string id;
  AssetState state = AssetState::kReady;
  uint64_t bytes = 0;
  int64_t started_at_ms = 0;
};

// The ids to delete, in the order they were chosen:
//  1. max_age_s > 0: every deletable asset that started more than max_age_s
//     before now_ms, oldest first;
//  2. max_bytes > 0: then further deletable assets, oldest first, until the
//     bytes of all assets left - recording, merging and uploading ones
//     included - are at most max_bytes (or nothing deletable is left).
// Deletable: ready, uploaded, failed. Never recording, merging or uploading
// (they are in use). Oldest = smallest started_at_ms, then smallest id.
// max_age_s <= 0 and max_bytes == 0 turn the limits off.
std::vector<std::string> plan_retention(std::vector<RetentionItem> assets, int64_t now_ms, int64_t max_age_s,
                                        uint64_t max_bytes);

}  // namespace weir::record
