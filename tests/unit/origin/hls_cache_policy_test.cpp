// The Cache-Control policy of HLS / LL-HLS / VOD responses
// (origin/hls/cache_policy.h): exact header values per kind, private where
// Weir admits each viewer itself, and If-None-Match matching.
#include <catch2/catch.hpp>

#include "core/config.h"
#include "origin/hls/cache_policy.h"

using namespace weir;
using namespace weir::origin::hls;

TEST_CASE("cache_control: an open app's responses are public, media immutable for a day") {
  core::AppConfig app;
  app.hls.segment_ms = 2000;
  CHECK(cache_control(CacheKind::kMedia, &app) == "public, max-age=86400, immutable");
  CHECK(cache_control(CacheKind::kClosedPlaylist, &app) == "public, max-age=86400, immutable");
  CHECK(cache_control(CacheKind::kVodFile, &app) == "public, max-age=86400, immutable");
  CHECK(cache_control(CacheKind::kTsLivePlaylist, &app) == "public, max-age=1");
  CHECK(cache_control(CacheKind::kLlLivePlaylist, &app) == "public, max-age=1");
  CHECK(cache_control(CacheKind::kBlockingPlaylist, &app) == "public, max-age=2");
  // Keys never go to shared caches; per-viewer playlists are never stored.
  CHECK(cache_control(CacheKind::kKey, &app) == "private, max-age=86400, immutable");
  CHECK(cache_control(CacheKind::kViewerPlaylist, &app) == "private, no-store");
  CHECK(kNoStore == "no-store");
}

TEST_CASE("cache_control: live playlist lifetimes follow the segment duration") {
  core::AppConfig app;
  app.hls.segment_ms = 6000;
  CHECK(cache_control(CacheKind::kTsLivePlaylist, &app) == "public, max-age=3");  // half a target duration
  CHECK(cache_control(CacheKind::kBlockingPlaylist, &app) == "public, max-age=6");
  CHECK(cache_control(CacheKind::kLlLivePlaylist, &app) == "public, max-age=1");
  app.hls.segment_ms = 1000;  // the config's minimum: never max-age=0 (nginx would not cache it)
  CHECK(cache_control(CacheKind::kTsLivePlaylist, &app) == "public, max-age=1");
  CHECK(cache_control(CacheKind::kBlockingPlaylist, &app) == "public, max-age=1");
}

TEST_CASE("cache_control: an app no longer configured is public") {
  CHECK(cache_control(CacheKind::kVodFile, nullptr) == "public, max-age=86400, immutable");
  CHECK(cache_control(CacheKind::kTsLivePlaylist, nullptr) == "public, max-age=1");
}

TEST_CASE("cache_control: per-viewer admission makes responses private") {
  SECTION("signed plays: everything private") {
    core::AppConfig app;
    app.sign.play_keys = "k1";
    CHECK(cache_control(CacheKind::kMedia, &app) == "private, max-age=86400, immutable");
    CHECK(cache_control(CacheKind::kTsLivePlaylist, &app) == "private, max-age=1");
    CHECK(cache_control(CacheKind::kBlockingPlaylist, &app) == "private, max-age=2");
    CHECK(cache_control(CacheKind::kVodFile, &app) == "private, max-age=86400, immutable");
    CHECK(cache_control(CacheKind::kViewerPlaylist, &app) == "private, no-store");
  }
  SECTION("a Referer list: everything private") {
    core::AppConfig app;
    app.access.referers = {"example.com"};
    CHECK(cache_control(CacheKind::kMedia, &app) == "private, max-age=86400, immutable");
    CHECK(cache_control(CacheKind::kLlLivePlaylist, &app) == "private, max-age=1");
  }
  SECTION("an on_play callback: playlists and VOD files private, live media public") {
    core::AppConfig app;
    app.callbacks.on_play = "http://127.0.0.1:9/play";
    CHECK(cache_control(CacheKind::kMedia, &app) == "public, max-age=86400, immutable");
    CHECK(cache_control(CacheKind::kTsLivePlaylist, &app) == "private, max-age=1");
    CHECK(cache_control(CacheKind::kClosedPlaylist, &app) == "private, max-age=86400, immutable");
    CHECK(cache_control(CacheKind::kVodFile, &app) == "private, max-age=86400, immutable");
  }
  SECTION("address rules do not: Weir sees the cache's address") {
    core::AppConfig app;
    REQUIRE(app.access.play_allow.add("127.0.0.1"));
    REQUIRE(app.access.play_deny.add("10.0.0.0/8"));
    CHECK(cache_control(CacheKind::kMedia, &app) == "public, max-age=86400, immutable");
  }
}

TEST_CASE("etag_matches: RFC 9110 13.1.2 If-None-Match") {
  const std::string tag = "\"seg7.ts\"";
  CHECK(etag_matches("\"seg7.ts\"", tag));
  CHECK(etag_matches("*", tag));
  CHECK(etag_matches(" * ", tag));
  CHECK(etag_matches("W/\"seg7.ts\"", tag));  // weak comparison
  CHECK(etag_matches("\"a\", \"seg7.ts\"", tag));
  CHECK(etag_matches("\"a,b\",\"seg7.ts\"", tag));  // a comma inside a tag
  CHECK_FALSE(etag_matches("", tag));
  CHECK_FALSE(etag_matches("\"seg8.ts\"", tag));
  CHECK_FALSE(etag_matches("seg7.ts", tag));          // unquoted: malformed
  CHECK_FALSE(etag_matches("\"seg7.ts", tag));        // unterminated
  CHECK_FALSE(etag_matches("\"a\" junk \"seg7.ts\"", tag));
  CHECK_FALSE(etag_matches("\"seg7.ts\"", "seg7.ts"));  // our tag must be quoted
}
