// HttpResponseReader (the client side of HTTP/1.1): keep-alive, body
// framings, HEAD, 1xx, upgrades, every header kept and the caps on the head.
#include "protocol/http_response_reader.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace weir;
using core::ByteView;
using protocol::HttpResponseHead;
using protocol::HttpResponseReader;

namespace {
struct Collect : HttpResponseReader::Handler {
  std::vector<HttpResponseHead> heads;
  std::vector<std::string> bodies;
  int complete = 0;
  void on_head(const HttpResponseHead& h) override {
    heads.push_back(h);
    bodies.emplace_back();
  }
  void on_body(ByteView b) override { bodies.back().append(reinterpret_cast<const char*>(b.data()), b.size()); }
  void on_complete() override { ++complete; }
};

// Feeds `s` one byte at a time; returns total bytes consumed.
size_t feed_bytewise(HttpResponseReader& r, const std::string& s) {
  size_t used = 0;
  for (char c : s) {
    auto n = r.feed(core::as_bytes(std::string_view(&c, 1)));
    REQUIRE(n.is_ok());
    used += *n;
  }
  return used;
}

// Feeds all of `s` in one piece per call, as a client does after each
// complete response; returns the number of feed() calls.
int feed_all(HttpResponseReader& r, const std::string& s) {
  core::ByteView in = core::as_bytes(s);
  int calls = 0;
  while (!in.empty()) {
    auto n = r.feed(in);
    REQUIRE(n.is_ok());
    ++calls;
    if (r.upgraded()) break;
    REQUIRE(*n > 0);
    in = in.subspan(*n);
  }
  return calls;
}
}  // namespace

TEST_CASE("http response reader: keep-alive responses, content-length and chunked, split anywhere") {
  Collect c;
  HttpResponseReader r(c);
  std::string two =
      "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: 5\r\n\r\nhello"
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  CHECK(feed_bytewise(r, two) == two.size());
  REQUIRE(c.heads.size() == 2);
  CHECK(c.heads[0].status == 200);
  CHECK(c.heads[0].content_length == 5);
  CHECK(c.heads[0].content_type == "video/mp2t");
  CHECK(c.bodies[0] == "hello");
  CHECK(c.heads[1].status == 404);
  CHECK(c.heads[1].content_length == -1);
  CHECK(c.bodies[1] == "abcde");
  CHECK(c.complete == 2);
  CHECK(r.head().keep_alive);
  CHECK(r.idle());
}

TEST_CASE("http response reader: feed() stops right after each complete response") {
  Collect c;
  HttpResponseReader r(c);
  std::string one = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab";
  std::string two = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n";
  std::string all = one + two + "HTTP/1.1 5";
  auto n = r.feed(core::as_bytes(all));
  REQUIRE(n.is_ok());
  CHECK(*n == one.size());
  CHECK(c.complete == 1);
  CHECK(r.idle());
  auto m = r.feed(core::as_bytes(all).subspan(*n));
  REQUIRE(m.is_ok());
  CHECK(*m == two.size());
  CHECK(c.complete == 2);
  CHECK(c.bodies[1] == "c");
  auto rest = r.feed(core::as_bytes(all).subspan(*n + *m));
  REQUIRE(rest.is_ok());
  CHECK(*rest == 10);
  CHECK_FALSE(r.idle());  // the third response has begun
}

TEST_CASE("http response reader: close-delimited body ends at finish()") {
  Collect c;
  HttpResponseReader r(c);
  std::string s = "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n\r\nFLV\x01";
  REQUIRE(r.feed(core::as_bytes(s)).is_ok());
  CHECK(c.complete == 0);
  CHECK_FALSE(r.idle());
  CHECK(c.bodies[0] == std::string("FLV\x01"));
  REQUIRE(r.finish().is_ok());
  CHECK(c.complete == 1);
  CHECK_FALSE(r.head().keep_alive);

  Collect c2;
  HttpResponseReader cut(c2);
  REQUIRE(cut.feed(core::as_bytes(std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))).is_ok());
  auto st = cut.finish();
  CHECK_FALSE(st.is_ok());
  CHECK(st.message().find("cut short") != std::string::npos);
}

TEST_CASE("http response reader: 101 hands back the upgraded bytes") {
  Collect c;
  HttpResponseReader r(c);
  std::string s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: abc=\r\n\r\n\x82\x03xyz";
  auto n = r.feed(core::as_bytes(s));
  REQUIRE(n.is_ok());
  CHECK(*n == s.size() - 5);
  CHECK(r.upgraded());
  REQUIRE(c.heads.size() == 1);
  CHECK(c.heads[0].upgrade);
  CHECK(c.heads[0].ws_accept == "abc=");
}

TEST_CASE("http response reader: garbage and oversized heads fail") {
  Collect c;
  HttpResponseReader r(c);
  auto n = r.feed(core::as_bytes(std::string("SSH-2.0-OpenSSH\r\n")));
  REQUIRE_FALSE(n.is_ok());
  CHECK(n.error().find("http response") != std::string::npos);
  CHECK_FALSE(r.feed(core::as_bytes(std::string("HTTP/1.1 200 OK\r\n"))).is_ok());  // stays failed

  Collect c2;
  HttpResponseReader big(c2);
  std::string head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  auto m = big.feed(core::as_bytes(head));
  REQUIRE_FALSE(m.is_ok());
  CHECK(m.error().find("head over") != std::string::npos);
}


TEST_CASE("http response reader: keeps every header, lower-cased, in order, and the reason") {
  Collect c;
  HttpResponseReader r(c);
  std::string s = "HTTP/1.1 302 Found Elsewhere\r\nLocation: /b\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
                  "X-Empty:\r\nContent-Length: 0\r\n\r\n";
  CHECK(feed_bytewise(r, s) == s.size());
  REQUIRE(c.heads.size() == 1);
  const HttpResponseHead& h = c.heads[0];
  CHECK(h.status == 302);
  CHECK(h.reason == "Found Elsewhere");
  REQUIRE(h.headers.size() == 5);
  CHECK(h.headers[0] == std::pair<std::string, std::string>("location", "/b"));
  CHECK(h.headers[1].second == "a=1");
  CHECK(h.headers[2] == std::pair<std::string, std::string>("set-cookie", "b=2"));
  CHECK(h.headers[3] == std::pair<std::string, std::string>("x-empty", ""));
  CHECK(h.header("set-cookie") == "a=1");
  CHECK(h.header("location") == "/b");
  CHECK(h.header("missing").empty());
  CHECK(c.complete == 1);
}

TEST_CASE("http response reader: more than kMaxHeaders header fields fail") {
  Collect c;
  HttpResponseReader r(c);
  std::string s = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i <= HttpResponseReader::kMaxHeaders; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  s += "\r\n";
  auto n = r.feed(core::as_bytes(s));
  REQUIRE_FALSE(n.is_ok());
  CHECK(n.error() == "http response: more than 100 header fields");
  CHECK(c.heads.empty());
}

TEST_CASE("http response reader: a HEAD response has no body, the next response does") {
  Collect c;
  HttpResponseReader r(c);
  r.expect_no_body();
  std::string s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  CHECK(feed_bytewise(r, s) == s.size());
  REQUIRE(c.heads.size() == 2);
  CHECK(c.heads[0].content_length == 5);
  CHECK(c.bodies[0].empty());
  CHECK(c.bodies[1] == "hello");
  CHECK(c.complete == 2);
}

TEST_CASE("http response reader: a 100 Continue head comes before the answer") {
  Collect c;
  HttpResponseReader r(c);
  r.expect_no_body();  // survives the interim response
  std::string s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n";
  CHECK(feed_all(r, s) == 2);
  REQUIRE(c.heads.size() == 2);
  CHECK(c.heads[0].status == 100);
  CHECK(c.heads[1].status == 204);
  CHECK(c.bodies[1].empty());
  CHECK(c.complete == 2);
  CHECK(r.idle());
}

TEST_CASE("http response reader refuses a status that is not a 3-digit code") {
  struct Sink final : weir::protocol::HttpResponseReader::Handler {
    int heads = 0;
    void on_head(const weir::protocol::HttpResponseHead&) override { ++heads; }
    void on_body(weir::core::ByteView) override {}
    void on_complete() override {}
  } sink;
  weir::protocol::HttpResponseReader reader(sink);
  auto r = reader.feed(weir::core::as_bytes("HTTP/1.1 1 Found\r\nContent-Length: 0\r\n\r\n"));
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.error(), Catch::Contains("status 1 is not a 3-digit code"));
  CHECK(sink.heads == 0);
}
