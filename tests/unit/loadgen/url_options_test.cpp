// The loadgen command line (URL parsing itself: tests/unit/protocol/url_test.cpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "loadgen/options.h"

using namespace weir::loadgen;

namespace {
weir::core::Result<Options> parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"loadgen"};
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_options(int(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("options: player mode") {
  auto o = parse({"--kind", "wsflv", "--url", "ws://127.0.0.1:8080/live/s.flv", "-n", "20", "--ramp", "50",
                  "--duration", "3.5", "--loops", "2", "--json"});
  REQUIRE(o.is_ok());
  CHECK(o->publish == PublishKind::kNone);
  CHECK(o->kind == PlayerKind::kWsFlv);
  CHECK(o->n == 20);
  CHECK(o->ramp == 50);
  CHECK(o->duration == 3.5);
  CHECK(o->loops == 2);
  CHECK(o->json);
  CHECK(std::string(kind_name(o->kind)) == "wsflv");

  auto d = parse({"--kind", "hls", "--url", "http://127.0.0.1:1/live/s.m3u8"});
  REQUIRE(d.is_ok());
  CHECK(d->n == 1);
  CHECK(d->duration == 10);
  CHECK(d->loops == 1);
}

TEST_CASE("options: errors") {
  CHECK(parse({"--kind", "flv", "--url", "http://192.168.1.1/live/s.flv"}).error().find("loopback") != std::string::npos);
  CHECK(parse({"--kind", "flv", "--url", "http://192.168.1.1/live/s.flv", "--allow-remote"}).is_ok());
  CHECK(parse({"--kind", "flv"}).error().find("--url") != std::string::npos);
  CHECK(parse({"--url", "http://127.0.0.1/x.flv"}).error().find("--kind") != std::string::npos);
  CHECK(parse({"--kind", "rtmp", "--url", "http://127.0.0.1/live/s"}).error().find("rtmp://") != std::string::npos);
  CHECK(parse({"--kind", "flv", "--url", "rtmp://127.0.0.1/live/s"}).error().find("http://") != std::string::npos);
  CHECK_FALSE(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "-n", "0"}).is_ok());
  CHECK_FALSE(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "-n", "2.5"}).is_ok());
  CHECK_FALSE(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "-n", "20001"}).is_ok());
  CHECK_FALSE(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "--duration", "0"}).is_ok());
  CHECK_FALSE(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "--loops", "65"}).is_ok());
  CHECK_FALSE(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "--ramp", "abc"}).is_ok());
  CHECK(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "--bogus"}).error().find("--bogus") != std::string::npos);
  CHECK(parse({"--kind", "flv", "--url", "http://127.0.0.1/x.flv", "--probe"}).error().find("publisher") != std::string::npos);
}

TEST_CASE("options: publisher mode") {
  auto o = parse({"--publish", "rtmp", "--url", "rtmp://127.0.0.1/live/s", "--file", "clip.flv", "--probe"});
  REQUIRE(o.is_ok());
  CHECK(o->publish == PublishKind::kRtmp);
  CHECK(o->probe);
  CHECK(o->duration == 0);  // until signalled
  auto s = parse({"--publish", "srt", "--url", "srt://127.0.0.1:9000?streamid=x", "--file", "c.ts", "--duration", "5"});
  REQUIRE(s.is_ok());
  CHECK(s->duration == 5);
  CHECK(parse({"--publish", "rtmp", "--url", "rtmp://127.0.0.1/live/s"}).error().find("--file") != std::string::npos);
  CHECK(parse({"--publish", "srt", "--url", "rtmp://127.0.0.1/live/s", "--file", "x"}).error().find("srt://") !=
        std::string::npos);
  CHECK_FALSE(parse({"--publish", "rtmp", "--url", "rtmp://127.0.0.1/live/s", "--file", "x", "-n", "3"}).is_ok());
}
