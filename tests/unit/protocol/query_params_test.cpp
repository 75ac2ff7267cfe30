#include <catch2/catch.hpp>

#include <string>

#include "protocol/query_params.h"

using namespace weir::protocol;

TEST_CASE("query strings decode into ordered key/value pairs") {
  auto r = parse_query_params("expires=1700000000&token=ab%2Fcd&note=a+b&flag&&x=1&x=2");
  REQUIRE(r);
  REQUIRE(r->size() == 6);
  CHECK((*r)[0] == std::make_pair(std::string("expires"), std::string("1700000000")));
  CHECK((*r)[1].second == "ab/cd");
  CHECK((*r)[2].second == "a b");
  CHECK((*r)[3] == std::make_pair(std::string("flag"), std::string()));
  CHECK(*find_query_param(*r, "x") == "1");
  CHECK(find_query_param(*r, "missing") == nullptr);
}

TEST_CASE("the queries of an RTMP app and stream name join into one list") {
  QueryParams all;
  REQUIRE(append_query_params("vhost=a", all));
  REQUIRE(append_query_params("token=t", all));
  REQUIRE(all.size() == 2);
  CHECK(all[1].first == "token");
}

TEST_CASE("malformed, NUL-carrying and oversized queries are refused with a reason") {
  auto bad = parse_query_params("a=%zz");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("malformed"));
  auto nul = parse_query_params("a=%00");
  REQUIRE_FALSE(nul);
  CHECK_THAT(nul.error(), Catch::Contains("NUL"));
  std::string many;
  for (size_t i = 0; i <= kMaxQueryParams; ++i) many += "k" + std::to_string(i) + "=v&";
  auto lots = parse_query_params(many);
  REQUIRE_FALSE(lots);
  CHECK_THAT(lots.error(), Catch::Contains("more than"));
  auto longq = parse_query_params(std::string(kMaxQueryBytes + 1, 'a'));
  REQUIRE_FALSE(longq);
}
