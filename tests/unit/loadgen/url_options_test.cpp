// loadgen URL parsing, playlist URI resolution and the command line.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "loadgen/options.h"
#include "loadgen/url.h"

using namespace weir::loadgen;

namespace {
weir::core::Result<Options> parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"loadgen"};
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_options(int(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("parse_url splits scheme, host, port, path and query") {
  auto u = parse_url("rtmp://127.0.0.1/live/s?key=1");
  REQUIRE(u.is_ok());
  CHECK(u->scheme == "rtmp");
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 1935);
  CHECK(u->path == "/live/s");
  CHECK(u->query == "key=1");
  CHECK(u->target() == "/live/s?key=1");
  CHECK(u->authority() == "127.0.0.1:1935");

  auto h = parse_url("HTTP://[::1]:8080/live/s.flv");
  REQUIRE(h.is_ok());
  CHECK(h->scheme == "http");
  CHECK(h->host == "::1");
  CHECK(h->port == 8080);
  CHECK(h->authority() == "[::1]:8080");
  CHECK(h->is_loopback());
  REQUIRE(h->address().is_ok());
  CHECK(h->address()->port() == 8080);

  auto w = parse_url("ws://localhost:81");
  REQUIRE(w.is_ok());
  CHECK(w->path == "/");
  CHECK(w->is_loopback());
  CHECK(w->address()->to_string() == "127.0.0.1:81");

  CHECK(parse_url("srt://127.0.0.1:9000?streamid=live/s")->query == "streamid=live/s");
  CHECK(parse_url("http://127.9.9.9:1/")->is_loopback());
  CHECK_FALSE(parse_url("http://10.0.0.1:1/")->is_loopback());
}

TEST_CASE("parse_url refuses what it cannot use, with a reason") {
  CHECK(parse_url("127.0.0.1:80/x").error().find("scheme") != std::string::npos);
  CHECK(parse_url("ftp://127.0.0.1/x").error().find("ftp") != std::string::npos);
  CHECK(parse_url("srt://127.0.0.1").error().find("needs a port") != std::string::npos);
  CHECK(parse_url("http://127.0.0.1:99999/").error().find("out of range") != std::string::npos);
  CHECK(parse_url("http://127.0.0.1:8x/").error().find("bad port") != std::string::npos);
  CHECK(parse_url("http://user@127.0.0.1/").error().find("user info") != std::string::npos);
  CHECK(parse_url("http://[::1/").error().find("unterminated") != std::string::npos);
  // Names are never resolved (no DNS on a loop).
  CHECK(parse_url("http://example.com/")->address().error().find("not a numeric") != std::string::npos);
}

TEST_CASE("resolve_target follows HLS URI rules") {
  Url base = *parse_url("http://127.0.0.1:8080/live/s.m3u8?token=a");
  CHECK(*resolve_target(base, "s/seg1.ts") == "/live/s/seg1.ts");
  CHECK(*resolve_target(base, "/abs/seg.ts?x=1") == "/abs/seg.ts?x=1");
  CHECK(*resolve_target(base, "./seg.ts") == "/live/seg.ts");
  CHECK(*resolve_target(base, "../other/seg.ts") == "/other/seg.ts");
  CHECK(*resolve_target(base, "http://127.0.0.1:8080/x/y.ts") == "/x/y.ts");
  CHECK(resolve_target(base, "http://127.0.0.2:8080/x/y.ts").error().find("leaves") != std::string::npos);
  CHECK_FALSE(resolve_target(base, "").is_ok());
  Url ll = *parse_url("http://127.0.0.1:8080/live/s/llhls.m3u8");
  CHECK(*resolve_target(ll, "part12.3.m4s") == "/live/s/part12.3.m4s");
}

TEST_CASE("split_rtmp_path keeps the query on the stream name") {
  auto p = split_rtmp_path(*parse_url("rtmp://127.0.0.1/live/s?k=v"));
  REQUIRE(p.is_ok());
  CHECK(p->app == "live");
  CHECK(p->stream == "s?k=v");
  CHECK_FALSE(split_rtmp_path(*parse_url("rtmp://127.0.0.1/live")).is_ok());
  CHECK_FALSE(split_rtmp_path(*parse_url("rtmp://127.0.0.1/live/")).is_ok());
}

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
