#include <catch2/catch.hpp>

#include "record/retention.h"

using namespace weir::record;
using Ids = std::vector<std::string>;

namespace {
constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kDay = 86'400'000;

RetentionItem item(std::string id, AssetState s, uint64_t bytes, int64_t started) {
  return RetentionItem{std::move(id), s, bytes, started};
}
}  // namespace

TEST_CASE("retention: both limits off deletes nothing") {
  std::vector<RetentionItem> v{item("a", AssetState::kReady, 100, 0)};
  CHECK(plan_retention(v, kNow, 0, 0).empty());
  CHECK(plan_retention(v, kNow, -5, 0).empty());
  CHECK(plan_retention({}, kNow, 10, 10).empty());
}

TEST_CASE("retention: age deletes old finished assets, never ones in use") {
  std::vector<RetentionItem> v{
      item("new", AssetState::kReady, 1, kNow - kDay / 2),
      item("old-ready", AssetState::kReady, 1, kNow - 3 * kDay),
      item("old-failed", AssetState::kFailed, 1, kNow - 2 * kDay),
      item("old-uploaded", AssetState::kUploaded, 1, kNow - 4 * kDay),
      item("old-recording", AssetState::kRecording, 1, kNow - 9 * kDay),
      item("old-merging", AssetState::kMerging, 1, kNow - 9 * kDay),
      item("old-uploading", AssetState::kUploading, 1, kNow - 9 * kDay),
      item("edge", AssetState::kReady, 1, kNow - kDay),  // exactly max_age old: kept
  };
  CHECK(plan_retention(v, kNow, 86400, 0) == Ids{"old-uploaded", "old-ready", "old-failed"});
  // A huge max_age keeps everything, without overflow.
  CHECK(plan_retention(v, kNow, INT64_MAX, 0).empty());
  CHECK(plan_retention(v, INT64_MIN + 5, 1, 0).empty());
}

TEST_CASE("retention: size deletes oldest first until the total, in-use bytes counted, fits") {
  std::vector<RetentionItem> v{
      item("d", AssetState::kReady, 100, 400),
      item("rec", AssetState::kRecording, 500, 50),  // oldest, but in use
      item("b", AssetState::kUploaded, 100, 200),
      item("a", AssetState::kFailed, 100, 100),
      item("c2", AssetState::kReady, 100, 300),
      item("c1", AssetState::kReady, 100, 300),  // same start as c2: id breaks the tie
  };
  // Total 1000.
  CHECK(plan_retention(v, kNow, 0, 1000).empty());
  CHECK(plan_retention(v, kNow, 0, 999) == Ids{"a"});
  CHECK(plan_retention(v, kNow, 0, 800) == Ids{"a", "b"});
  CHECK(plan_retention(v, kNow, 0, 701) == Ids{"a", "b", "c1"});
  // Below what the in-use asset holds: everything deletable goes, it stays.
  CHECK(plan_retention(v, kNow, 0, 100) == Ids{"a", "b", "c1", "c2", "d"});
  CHECK(plan_retention(v, kNow, 0, 1) == Ids{"a", "b", "c1", "c2", "d"});
}

TEST_CASE("retention: age first, then size over what is left") {
  std::vector<RetentionItem> v{
      item("old", AssetState::kReady, 1000, kNow - 10 * kDay),
      item("mid", AssetState::kReady, 300, kNow - 2000),
      item("new", AssetState::kReady, 300, kNow - 1000),
      item("live", AssetState::kRecording, 300, kNow - 500),
  };
  // Age removes "old" (1000); 900 remain, the size limit 700 takes "mid".
  CHECK(plan_retention(v, kNow, 86400, 700) == Ids{"old", "mid"});
  // Age alone is enough: size has nothing more to do.
  CHECK(plan_retention(v, kNow, 86400, 900) == Ids{"old"});
  // Sizes that sum past 2^64 saturate instead of wrapping.
  std::vector<RetentionItem> big{item("x", AssetState::kReady, UINT64_MAX, 1), item("y", AssetState::kReady, 5, 2)};
  CHECK(plan_retention(big, kNow, 0, 10) == Ids{"x"});
}
