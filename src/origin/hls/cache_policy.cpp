#include "origin/hls/cache_policy.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/config.h"

namespace weir::origin::hls {

namespace {

// Does Weir check each viewer of `kind` itself? (See the header.)
bool admitted_per_viewer(CacheKind kind, const core::AppConfig& app) {
  if (app.sign.signs_play() || !app.access.referers.empty()) return true;
  return kind != CacheKind::kMedia && !app.callbacks.on_play.empty();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string cache_control(CacheKind kind, const core::AppConfig* app) {
  const std::string_view scope = app && admitted_per_viewer(kind, *app) ? "private" : "public";
  const int64_t segment_ms = app ? app->hls.segment_ms : core::HlsConfig{}.segment_ms;
  switch (kind) {
    case CacheKind::kMedia:
    case CacheKind::kClosedPlaylist:
    case CacheKind::kVodFile:
      return fmt::format("{}, max-age={}, immutable", scope, kImmutableMaxAgeS);
    case CacheKind::kKey:
      return fmt::format("private, max-age={}, immutable", kImmutableMaxAgeS);
    case CacheKind::kTsLivePlaylist:
      return fmt::format("{}, max-age={}", scope, std::max<int64_t>(1, segment_ms / 2000));
    case CacheKind::kLlLivePlaylist:
      return fmt::format("{}, max-age=1", scope);
    case CacheKind::kBlockingPlaylist:
      return fmt::format("{}, max-age={}", scope, std::max<int64_t>(1, segment_ms / 1000));
    case CacheKind::kViewerPlaylist:
      return "private, no-store";
    case CacheKind::kSnapshot:
      return fmt::format("{}, max-age={}", scope,
                         std::max<int64_t>(1, (app ? app->snapshot.cache_ms : core::SnapshotConfig{}.cache_ms) / 1000));
  }
  return std::string(kNoStore);
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  // The opaque part of a tag, W/ and quotes included (etagc may hold commas).
  auto opaque = [](std::string_view t) {
    if (t.size() >= 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  const std::string_view want = opaque(trim(etag));
  if (want.size() < 2 || want.front() != '"' || want.back() != '"') return false;
  std::string_view rest = trim(if_none_match);
  if (rest == "*") return true;
  while (!rest.empty()) {
    rest = trim(rest);
    if (!rest.empty() && rest.front() == ',') {
      rest.remove_prefix(1);
      continue;
    }
    size_t open = rest.rfind("W/", 0) == 0 ? 2 : 0;
    if (open >= rest.size() || rest[open] != '"') return false;  // malformed: no match (RFC 9110 13.1.2)
    size_t close = rest.find('"', open + 1);
    if (close == std::string_view::npos) return false;
    if (rest.substr(open, close - open + 1) == want) return true;
    rest.remove_prefix(close + 1);
  }
  return false;
}

}  // namespace weir::origin::hls
