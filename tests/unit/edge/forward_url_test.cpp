#include <catch2/catch.hpp>

#include "edge/forward_url.h"

using namespace weir::edge;

TEST_CASE("forward destinations: templates and plain URLs expand to an RTMP publish target") {
  auto r = forward_destination("rtmp://backup:1935/{app}/{stream}", "live", "cam-1");
  REQUIRE(r);
  CHECK(*r == "rtmp://backup:1935/live/cam-1");
  r = forward_destination("rtmps://live.example.com/app/{stream}?key=K", "live", "s");
  REQUIRE(r);
  CHECK(*r == "rtmps://live.example.com/app/s?key=K");
  // A plain URL (runtime destinations): no placeholder needed.
  r = forward_destination("rtmp://127.0.0.1:1936/live2/other", "live", "s");
  REQUIRE(r);
  CHECK(*r == "rtmp://127.0.0.1:1936/live2/other");
}

TEST_CASE("forward destinations: unusable URLs are refused with a reason that does not repeat the URL") {
  auto http = forward_destination("http://h/{app}/{stream}.flv", "live", "s");
  REQUIRE_FALSE(http);
  CHECK_THAT(http.error(), Catch::Contains("not an rtmp://, rtmps:// or srt:// URL"));
  auto srt_pass = forward_destination("srt://h:10080?streamid=x&passphrase=SECRETSHORT&latency=-1", "live", "s");
  REQUIRE_FALSE(srt_pass);
  CHECK_THAT(srt_pass.error(), Catch::Contains("latency"));
  CHECK(srt_pass.error().find("SECRETSHORT") == std::string::npos);
  CHECK_FALSE(forward_destination("srt://h?streamid=publish:{app}/{stream}", "live", "s"));   // no port
  CHECK_FALSE(forward_destination("srt://h:1/{app}?streamid=x", "live", "s"));                // a path
  CHECK_FALSE(forward_destination("srt://h:1?mode=listener", "live", "s"));
  CHECK_FALSE(forward_destination("rtmp://h/{app}/{name}", "live", "s"));      // unknown placeholder
  CHECK_FALSE(forward_destination("rtmp:///live/s", "live", "s"));             // no host
  CHECK_FALSE(forward_destination("rtmp://h/onlyapp", "live", "s"));           // no stream element
  CHECK_FALSE(forward_destination("rtmp://h/live/", "live", "s"));             // empty stream
  CHECK_FALSE(forward_destination("rtmp://h/live/s x", "live", "s"));          // space
  CHECK_FALSE(forward_destination("", "live", "s"));
  CHECK_FALSE(forward_destination("rtmp://h:99999/live/s", "live", "s"));      // port
  auto keyed = forward_destination("rtmp://h/{app}/{name}?key=SECRET", "live", "s");
  REQUIRE_FALSE(keyed);
  CHECK(keyed.error().find("SECRET") == std::string::npos);
}

TEST_CASE("forward destinations: srt:// templates expand into the stream id") {
  auto r = forward_destination("srt://127.0.0.1:10080?streamid=#!::r={app}/{stream},m=publish&latency=200", "live",
                               "cam-1");
  REQUIRE(r);
  CHECK(*r == "srt://127.0.0.1:10080?streamid=#!::r=live/cam-1,m=publish&latency=200");
  r = forward_destination("srt://[::1]:9000", "live", "s");  // a plain listener (srt-live-transmit)
  REQUIRE(r);
  CHECK(*r == "srt://[::1]:9000");
  CHECK(redact_forward_url("srt://h:1?streamid=#!::r=live/s,m=publish&passphrase=0123456789ab", "s") ==
        "srt://h:1?streamid=#!::r=live/s,m=publish&passphrase=***");
}

TEST_CASE("forward URLs are shown without query values or a stream key") {
  CHECK(redact_forward_url("rtmp://b:1935/live/s", "s") == "rtmp://b:1935/live/s");
  CHECK(redact_forward_url("rtmps://live.example.com/app/s?key=K&x=1", "s") == "rtmps://live.example.com/app/s?key=***&x=***");
  // A stream name other than the local one is a platform's stream key.
  CHECK(redact_forward_url("rtmp://live.twitch.tv/app/live_123_abc", "s") == "rtmp://live.twitch.tv/app/***");
  CHECK(redact_forward_url("rtmp://b/{app}/{stream}?sig", "s") == "rtmp://b/{app}/{stream}?***");
  CHECK(redact_forward_url("rtmp://b", "s") == "rtmp://b");
}

TEST_CASE("forward ids are ordered, fixed-width and checked") {
  CHECK(forward_id(1) == "fw0000000001");
  CHECK(forward_id(12) < forward_id(100));
  CHECK(valid_forward_id(forward_id(42)));
  CHECK_FALSE(valid_forward_id("fw42"));
  CHECK_FALSE(valid_forward_id("fw00000000x1"));
  CHECK_FALSE(valid_forward_id("../etc/passw"));
}
