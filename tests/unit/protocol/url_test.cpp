// protocol::Url: parsing, HLS URI resolution, the RTMP app/stream split.
#include "protocol/url.h"

#include <catch2/catch.hpp>

using namespace weir::protocol;

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
  // Hosts are RFC 3986 hosts: no unbracketed IPv6, no stray brackets, spaces or NULs.
  CHECK(parse_url("http://::1:80/").error().find("bad character in host") != std::string::npos);
  CHECK(parse_url("http://a[b]:80/").error().find("bad character in host") != std::string::npos);
  CHECK(parse_url("http://a b/").error().find("bad character in host") != std::string::npos);
  CHECK(parse_url(std::string_view("http://a\0b/", 11)).error().find("bad character in host") != std::string::npos);
  CHECK(parse_url("http://[abc]/").error().find("is not an IPv6 address") != std::string::npos);
  CHECK(parse_url("http://[fe80::1%25eth0]:80/")->host == "fe80::1%25eth0");
  CHECK(parse_url("http://my-host.example_1:80/")->host == "my-host.example_1");
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

TEST_CASE("rtmp_target splits app and stream at the last '/'") {
  auto p = rtmp_target(*parse_url("rtmp://127.0.0.1/live/s?k=v"));
  REQUIRE(p.is_ok());
  CHECK(p->app == "live");
  CHECK(p->stream == "s?k=v");
  CHECK(p->tc_url == "rtmp://127.0.0.1:1935/live");
  // An app of several path elements (nginx-rtmp, SRS).
  auto deep = rtmp_target(*parse_url("rtmp://h:1940/live/sub/s"));
  REQUIRE(deep.is_ok());
  CHECK(deep->app == "live/sub");
  CHECK(deep->stream == "s");
  CHECK(deep->tc_url == "rtmp://h:1940/live/sub");
  // An app with its own query (SRS's vhost form), and a stream query too.
  auto vhost = rtmp_target(*parse_url("rtmps://h/live?vhost=v1/s?token=t"));
  REQUIRE(vhost.is_ok());
  CHECK(vhost->app == "live?vhost=v1");
  CHECK(vhost->stream == "s?token=t");
  CHECK(vhost->tc_url == "rtmps://h:443/live?vhost=v1");
  CHECK_FALSE(rtmp_target(*parse_url("rtmp://127.0.0.1/live")).is_ok());
  CHECK_FALSE(rtmp_target(*parse_url("rtmp://127.0.0.1/live/")).is_ok());
  CHECK_FALSE(rtmp_target(*parse_url("rtmp://127.0.0.1//s")).is_ok());
  CHECK(rtmp_target(*parse_url("http://127.0.0.1/live/s")).error().find("not rtmp://") != std::string::npos);
}

TEST_CASE("secure schemes and their default ports") {
  CHECK(parse_url("rtmps://h/a/b")->port == 443);
  CHECK(parse_url("rtmps://h/a/b")->secure());
  CHECK(parse_url("https://h/")->port == 443);
  CHECK(parse_url("wss://h/")->secure());
  CHECK_FALSE(parse_url("http://h/")->secure());
  CHECK_FALSE(parse_url("rtmp://h/a/b")->secure());
  CHECK(parse_url("ws://h/")->port == 80);
}

