#include <catch2/catch.hpp>

#include <set>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "core/config.h"
#include "core/loop.h"
#include "origin/api/admin_api.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"
#include "../openapi_routes.h"

using namespace weir;
using namespace weir::origin;

// The core routes are all documented; that the document has no route more
// than core + modules is checked where the modules' routes are linked in
// (tests/unit/record/openapi_test.cpp).
TEST_CASE("docs/openapi.yaml describes the core admin API's routes") {
  auto documented = test::documented_routes(std::string(WEIR_SOURCE_DIR) + "/docs/openapi.yaml");
  core::Config cfg;
  cfg.apps["live"] = core::AppConfig{};
  core::LoopGroup loops(1);
  Origin origin(cfg, loops);
  auto router = api::build_admin_routes(origin, "test", "openapi: 3.1.0\n");
  std::set<std::string> groups;
  auto routed = test::routed_routes(*router, &groups);
  CHECK(groups == std::set<std::string>{"api"});  // every admin route is behind the token guard
  for (const auto& d : routed) {
    INFO(d.first + " " + d.second + " is routed but not documented");
    CHECK(documented.count(d) == 1);
  }
}

TEST_CASE("admin API formats: RFC 3339 times with milliseconds, opaque cursors") {
  CHECK(api::rfc3339_ms(1764680856539) == "2025-12-02T13:07:36.539Z");
  CHECK(api::rfc3339_ms(0).empty());
  for (const std::string& key :
       std::vector<std::string>{"live/s", "a", "ab", "abc", "app/name.with-dots_1", std::string(300, 'z')}) {
    std::string c = api::encode_cursor(key);
    CHECK(c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    auto back = api::decode_cursor(c);
    REQUIRE(back);
    CHECK(*back == key);
  }
  CHECK_FALSE(api::decode_cursor(""));
  CHECK_FALSE(api::decode_cursor("a+b/"));
  CHECK_FALSE(api::decode_cursor("b"));  // a lone character holds no whole byte
  CHECK_FALSE(api::decode_cursor(std::string(1000, 'A')));
}
