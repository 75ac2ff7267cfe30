#include <catch2/catch.hpp>

#include "protocol/hls_query.h"

using weir::protocol::parse_hls_query;

TEST_CASE("hls query: time-shift forms", "[hls_query]") {
  auto d = parse_hls_query("delay=20");
  REQUIRE(d.is_ok());
  CHECK(*d->delay_s == 20);
  CHECK(d->timeshifted());

  auto se = parse_hls_query("start=1795265000&end=1795265060.5&x=1");
  REQUIRE(se.is_ok());
  CHECK(*se->start_unix_s == 1795265000);
  CHECK(*se->end_unix_s == 1795265060.5);
  CHECK_FALSE(se->delay_s);

  auto none = parse_hls_query("");
  REQUIRE(none.is_ok());
  CHECK_FALSE(none->timeshifted());
}

TEST_CASE("hls query: Tencent aliases", "[hls_query]") {
  auto d = parse_hls_query("txTimeshift=on&tsDelay=30");
  REQUIRE(d.is_ok());
  CHECK(*d->delay_s == 30);
  auto se = parse_hls_query("txTimeshift=on&tsFormat=unix_s&tsStart=1700000000&tsEnd=1700000100");
  REQUIRE(se.is_ok());
  CHECK(*se->start_unix_s == 1700000000);
  CHECK(*se->end_unix_s == 1700000100);
  // Without txTimeshift=on the aliases are ordinary unknown parameters.
  auto off = parse_hls_query("tsDelay=30");
  REQUIRE(off.is_ok());
  CHECK_FALSE(off->delay_s);
  auto fmt = parse_hls_query("txTimeshift=on&tsFormat=YYYYMMDD&tsStart=1");
  REQUIRE_FALSE(fmt.is_ok());
  CHECK_THAT(fmt.error(), Catch::Contains("tsFormat"));
  auto both = parse_hls_query("txTimeshift=on&tsDelay=3&delay=4");
  REQUIRE_FALSE(both.is_ok());
  CHECK_THAT(both.error(), Catch::Contains("delay/tsDelay"));
}

TEST_CASE("hls query: bad values are one-line 400 reasons", "[hls_query]") {
  struct Case {
    const char* q;
    const char* reason;
  } cases[] = {
      {"delay=-5", "delay: must be >= 0"},
      {"delay=abc", "delay: must be a number of seconds"},
      {"delay=", "delay: must be a number"},
      {"delay=nan", "delay: must be a number"},
      {"start=0", "start: must be > 0"},
      {"start=100&end=50", "end: must be after start"},
      {"start=100&end=100", "end: must be after start"},
      {"end=100", "end: needs start"},
      {"delay=5&start=100", "delay or start, not both"},
      {"delay=1&delay=2", "given twice"},
      {"_HLS_part=1", "_HLS_part: needs _HLS_msn"},
      {"_HLS_msn=-1", "_HLS_msn: must be a non-negative integer"},
      {"_HLS_msn=1&_HLS_part=x", "_HLS_part: must be"},
      {"_HLS_skip=maybe", "_HLS_skip: must be YES or v2"},
      {"delay=5&_HLS_msn=3", "do not apply to a time-shifted"},
      {"delay=%zz", "bad percent escape"},
      {"delay=1e300", "out of range"},
  };
  for (auto& c : cases) {
    INFO(c.q);
    auto r = parse_hls_query(c.q);
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.error(), Catch::Contains(c.reason));
    CHECK(r.error().find('\n') == std::string::npos);
  }
}

TEST_CASE("hls query: LL-HLS directives", "[hls_query]") {
  auto q = parse_hls_query("_HLS_msn=1795265882&_HLS_part=3&_HLS_skip=YES");
  REQUIRE(q.is_ok());
  CHECK(*q->msn == 1795265882u);
  CHECK(*q->part == 3u);
  CHECK(q->skip);
  CHECK_FALSE(q->skip_v2);
  auto v2 = parse_hls_query("_HLS_skip=v2");
  REQUIRE(v2.is_ok());
  CHECK(v2->skip_v2);
  auto msn_only = parse_hls_query("_HLS_msn=7");
  REQUIRE(msn_only.is_ok());
  CHECK_FALSE(msn_only->part);
}

TEST_CASE("hls query: the time-shift position passed on, in the native spelling", "[hls_query]") {
  using weir::protocol::timeshift_query;
  for (const char* q : {"delay=20", "txTimeshift=on&tsDelay=20", "delay=20.000"}) {
    INFO(q);
    CHECK(timeshift_query(*parse_hls_query(q)) == "delay=20");
  }
  CHECK(timeshift_query(*parse_hls_query("delay=2.5&token=x&expires=9")) == "delay=2.5");
  CHECK(timeshift_query(*parse_hls_query("start=1795265000&end=1795265060.25")) ==
        "start=1795265000&end=1795265060.25");
  CHECK(timeshift_query(*parse_hls_query("txTimeshift=on&tsFormat=unix_s&tsStart=1700000000")) == "start=1700000000");
  CHECK(timeshift_query(*parse_hls_query("_HLS_msn=4&x=1")).empty());
  // What comes out parses back to the same position.
  auto back = parse_hls_query(timeshift_query(*parse_hls_query("start=1795265000.125&end=1795265001")));
  REQUIRE(back.is_ok());
  CHECK(*back->start_unix_s == 1795265000.125);
  CHECK(*back->end_unix_s == 1795265001);
}
