#include <catch2/catch.hpp>

#include "core/config.h"
#include "origin/api/system_api.h"

using namespace weir;

TEST_CASE("GET /api/v1/config: every secret is masked, every other key shown as in effect") {
  auto loaded = core::load_config_text(R"(
api: {token: admin-secret-1-0123456789, read_token: read-secret-2-0123456789}
events: {url: "http://127.0.0.1:9/x", secret: event-secret-3}
storage: {s3: {access_key: AKIDPLAIN, secret_key: s3-secret-4}}
apps:
  live:
    srt: {passphrase: srt-secret-5-long}
    sign: {publish_keys: "pub-secret-6,pub-secret-7", play_keys: play-secret-8}
  open: {}
)",
                                       nullptr);
  INFO((loaded ? std::string() : loaded.error()));
  REQUIRE(loaded);
  const std::string text = origin::api::config_json(*loaded).dump();
  for (const char* s : {"admin-secret-1-0123456789", "read-secret-2-0123456789", "event-secret-3", "s3-secret-4", "srt-secret-5",
                        "pub-secret-6", "pub-secret-7", "play-secret-8"}) {
    INFO(s);
    CHECK(text.find(s) == std::string::npos);
  }
  auto j = origin::api::config_json(*loaded);
  CHECK(j["api"]["token"] == "********");
  CHECK(j["apps"]["live"]["sign"]["publish_keys"] == "********");
  CHECK(j["apps"]["open"]["srt"]["passphrase"] == "");
  CHECK(j["events"]["url"] == "http://127.0.0.1:9/x");
  CHECK(j["storage"]["s3"]["access_key"] == "AKIDPLAIN");
  CHECK(j["rtmp"]["chunk_size"] == 60000);
  CHECK(j["limits"]["ingest_buffer_bytes"] == 512ull * 1024 * 1024);
  CHECK(j["shutdown"]["drain_ms"] == 10000);
}
