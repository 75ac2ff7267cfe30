#include "record/asset.h"

namespace weir::record {

namespace {
constexpr std::string_view kNames[] = {"recording", "merging", "ready", "failed", "uploading", "uploaded"};
}  // namespace

std::string_view to_string(AssetState s) {
  auto i = size_t(s);
  return i < std::size(kNames) ? kNames[i] : std::string_view("unknown");
}

std::optional<AssetState> asset_state_from_string(std::string_view s) {
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (kNames[i] == s) return AssetState(i);
  return std::nullopt;
}

}  // namespace weir::record
