#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/config_diff.h"
#include "core/config_store.h"

using namespace weir::core;

namespace {
char* kNoEnv[] = {nullptr};

Config load(const std::string& yaml) {
  auto c = load_config_text(yaml, kNoEnv);
  REQUIRE(c);
  return std::move(*c);
}
}  // namespace

TEST_CASE("a config store hands out the current generation and frees retired ones nobody holds") {
  ConfigStore store(load("apps:\n  live: {}\n"));
  const Config* first = &store.get();
  CHECK(store.generation() == 1);
  CHECK(store.get().find_app("live")->name == "live");

  auto second = std::make_shared<const Config>(load("apps:\n  live: {}\n  other: {}\n"));
  CHECK(store.install(second) == 2);
  CHECK(&store.get() == second.get());
  CHECK(store.current() == second);
  CHECK(&store.first() == first);  // pinned

  // A stream keeps the generation it started under; the store keeps it too.
  std::shared_ptr<const Config> held = store.current();
  second.reset();
  CHECK(store.install(std::make_shared<const Config>(load("apps:\n  third: {}\n"))) == 3);
  CHECK(store.release_retired() == 1);  // still held
  CHECK(held->find_app("other") != nullptr);
  held.reset();
  CHECK(store.release_retired() == 0);
  CHECK(store.get().find_app("third") != nullptr);
  CHECK(store.first().find_app("live") != nullptr);
}

TEST_CASE("changed_keys names every differing key, secrets by name only, new apps whole") {
  Config a = load(
      "rtmp:\n  listen: 127.0.0.1:1935\napi:\n  token: aaaaaaaaaaaaaaaaaaaa\n"
      "apps:\n  live:\n    sign:\n      play_keys: key-one-0001\n    access:\n      play_deny: [10.0.0.0/8]\n  gone: {}\n");
  Config b = load(
      "rtmp:\n  listen: 127.0.0.1:1936\napi:\n  token: bbbbbbbbbbbbbbbbbbbb\n"
      "apps:\n  live:\n    sign:\n      play_keys: key-two-0002\n    access:\n      play_deny: [10.0.0.0/8, 192.168.0.0/16]\n"
      "  new:\n    hls:\n      segment_ms: 4000\n");
  auto keys = changed_keys(a, b);
  CHECK(keys == std::vector<std::string>{"api.token", "apps.gone", "apps.live.access.play_deny",
                                          "apps.live.sign.play_keys", "apps.new", "rtmp.listen"});
  CHECK(changed_keys(a, a).empty());
  CHECK(key_under("storage.s3.bucket", "storage"));
  CHECK(key_under("srt", "srt"));
  CHECK_FALSE(key_under("srtx.listen", "srt"));
  CHECK_FALSE(key_under("rtmp.listen", "rtmp.chunk_size"));
}
