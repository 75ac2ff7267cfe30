#include <catch2/catch.hpp>

#include "core/srt_url.h"

using namespace weir::core;

TEST_CASE("srt:// URLs: host, port and the caller options of the query") {
  auto u = parse_srt_url("srt://127.0.0.1:10080?streamid=#!::r=live/s,m=request&latency=200&passphrase=0123456789&pbkeylen=16&mode=caller");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 10080);
  CHECK(u->streamid == "#!::r=live/s,m=request");
  CHECK(u->latency_ms == 200);
  CHECK(u->passphrase == "0123456789");
  CHECK(u->pbkeylen == 16);
  CHECK(u->authority() == "srt://127.0.0.1:10080");

  u = parse_srt_url("srt://[::1]:9000");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->authority() == "srt://[::1]:9000");
  CHECK(u->streamid.empty());
  CHECK(u->latency_ms == -1);

  u = parse_srt_url("srt://origin.example:1/?streamid=%23!::r=a/b%2Cm=request%26x");
  REQUIRE(u);
  CHECK(u->host == "origin.example");
  CHECK(u->streamid == "#!::r=a/b,m=request&x");
}

TEST_CASE("srt:// URLs: anything unusable is refused with the part named") {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {Case{"rtmp://h:1", "not an srt:// URL"}, Case{"srt://h", "needs a port"},
                        Case{"srt://:1", "has no host"}, Case{"srt://h:70000", "bad port"}, Case{"srt://h:x", "bad port"},
                        Case{"srt://h:1/live", "has a path"}, Case{"srt://::1:5", "IPv6 host without brackets"},
                        Case{"srt://[::1:5", "unclosed"}, Case{"srt://h:1?streamid", "has no value"},
                        Case{"srt://h:1?latency=60001", "latency"}, Case{"srt://h:1?latency=-5", "latency"},
                        Case{"srt://h:1?pbkeylen=16", "needs a passphrase"},
                        Case{"srt://h:1?passphrase=123456789", "10 to 79"},
                        Case{"srt://h:1?mode=rendezvous", "only 'caller'"},
                        Case{"srt://h:1?latency=1&latency=2", "given twice"},
                        Case{"srt://h:1?transtype=file", "unknown query key 'transtype'"},
                        Case{"srt://h:1?streamid=a%0Ab", "control character"},
                        Case{"srt://h:1?streamid=a%zz", "bad %-escape"},
                        Case{"srt://h:1?streamid=a b", "spaces"}, Case{"srt://h!:1", "bad character"}}) {
    INFO(c.url);
    auto r = parse_srt_url(c.url);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains(c.why));
  }
  CHECK_FALSE(parse_srt_url("srt://h:1?streamid=" + std::string(513, 'x')));
  CHECK(parse_srt_url("srt://h:1?streamid=" + std::string(512, 'x')));
  CHECK_FALSE(parse_srt_url("srt://h:1?streamid=" + std::string(2100, 'x')));
}
