#include "protocol/http_request_parser.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using weir::core::as_bytes;
using weir::protocol::HttpRequest;
using weir::protocol::HttpRequestParser;

namespace {

// Feeds `wire` whole (re-feeding the unconsumed rest after each request) and
// returns every request; fails the test on a parse error.
std::vector<HttpRequest> parse_all(HttpRequestParser& p, std::string_view wire) {
  std::vector<HttpRequest> out;
  while (true) {
    auto r = p.feed(as_bytes(wire));
    REQUIRE(r.is_ok());
    wire.remove_prefix(*r);
    if (p.has_request()) {
      out.push_back(p.take_request());
      continue;
    }
    REQUIRE(wire.empty());
    break;
  }
  return out;
}

// Feeds `wire` and returns the error (or "" if none), with the status.
std::string parse_error(std::string_view wire, int* status = nullptr, size_t max_head = 16384,
                        size_t max_body = 1024) {
  HttpRequestParser p(max_head, max_body);
  while (!wire.empty()) {
    auto r = p.feed(as_bytes(wire));
    if (!r) {
      if (status) *status = p.error_status();
      return r.error();
    }
    wire.remove_prefix(*r);
    if (p.has_request()) p.take_request();
    else if (*r == 0) break;
  }
  return "";
}

}  // namespace

TEST_CASE("http parser: simple GET with headers, path and query") {
  HttpRequestParser p(16384, 1024);
  auto reqs = parse_all(p,
                        "GET /live/cam%201.flv?token=a%2Bb&x=1+2&empty=&flag HTTP/1.1\r\n"
                        "Host: example.com\r\n"
                        "User-Agent:   curl/8.0  \r\n"
                        "X-Empty:\r\n"
                        "ACCEPT: */*\r\n"
                        "\r\n");
  REQUIRE(reqs.size() == 1);
  const HttpRequest& r = reqs[0];
  CHECK(r.method == "GET");
  CHECK(r.target == "/live/cam%201.flv?token=a%2Bb&x=1+2&empty=&flag");
  CHECK(r.path == "/live/cam 1.flv");
  CHECK(r.query == "token=a%2Bb&x=1+2&empty=&flag");
  CHECK(r.http_major == 1);
  CHECK(r.http_minor == 1);
  CHECK(r.keep_alive);
  CHECK_FALSE(r.upgrade);
  REQUIRE(r.headers.size() == 4);
  CHECK(r.headers[0] == std::pair<std::string, std::string>{"host", "example.com"});
  CHECK(r.header("user-agent") == "curl/8.0");
  CHECK(r.headers[2].first == "x-empty");
  CHECK(r.headers[2].second.empty());
  CHECK(r.header("accept") == "*/*");
  CHECK(r.header("missing").empty());
  CHECK(r.has_header("x-empty"));
  CHECK(r.query_param("token") == std::optional<std::string>("a+b"));
  CHECK(r.query_param("x") == std::optional<std::string>("1 2"));
  CHECK(r.query_param("empty") == std::optional<std::string>(""));
  CHECK(r.query_param("flag") == std::optional<std::string>(""));
  CHECK_FALSE(r.query_param("nope").has_value());
  CHECK(r.body.empty());
}

TEST_CASE("http parser: HTTP/1.0 keep-alive rules") {
  HttpRequestParser p(16384, 1024);
  auto a = parse_all(p, "GET / HTTP/1.0\r\n\r\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].http_minor == 0);
  CHECK_FALSE(a[0].keep_alive);

  HttpRequestParser p2(16384, 1024);
  auto b = parse_all(p2, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  REQUIRE(b.size() == 1);
  CHECK(b[0].keep_alive);

  HttpRequestParser p3(16384, 1024);
  auto c = parse_all(p3, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  REQUIRE(c.size() == 1);
  CHECK_FALSE(c[0].keep_alive);
}

TEST_CASE("http parser: pipelined requests stop after each one") {
  HttpRequestParser p(16384, 1024);
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
      "GET /c?q=1 HTTP/1.1\r\n\r\n";
  auto r = p.feed(as_bytes(wire));
  REQUIRE(r.is_ok());
  CHECK(*r == 28);  // exactly the first request
  REQUIRE(p.has_request());
  // Nothing more is consumed until the request is taken.
  auto again = p.feed(as_bytes(std::string_view(wire).substr(*r)));
  REQUIRE(again.is_ok());
  CHECK(*again == 0);
  CHECK(p.take_request().path == "/a");

  auto rest = parse_all(p, std::string_view(wire).substr(28));
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].method == "POST");
  CHECK(rest[0].path == "/b");
  CHECK(rest[0].body == "hello");
  CHECK(rest[1].path == "/c");
  CHECK(rest[1].query == "q=1");
}

TEST_CASE("http parser: split at every byte gives the same requests") {
  const std::string wire =
      "GET /x/y%2Fz HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n"
      "PUT /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: t\r\n\r\n"
      "DELETE /d HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t split = 0; split <= wire.size(); ++split) {
    HttpRequestParser p(16384, 1024);
    std::vector<HttpRequest> got;
    std::string pending;
    for (std::string_view part : {std::string_view(wire).substr(0, split), std::string_view(wire).substr(split)}) {
      pending.append(part);
      while (true) {
        auto r = p.feed(as_bytes(pending));
        REQUIRE(r.is_ok());
        pending.erase(0, *r);
        if (!p.has_request()) break;
        got.push_back(p.take_request());
      }
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0].path == "/x/y/z");
    CHECK(got[0].header("a") == "1");
    CHECK(got[1].method == "PUT");
    CHECK(got[1].body == "Wikipedia");
    CHECK_FALSE(got[1].has_header("trailer"));  // trailers are not kept
    CHECK(got[2].body == "abc");
    CHECK(pending.empty());
  }
}

TEST_CASE("http parser: byte-at-a-time feeding") {
  const std::string wire = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  HttpRequestParser p(16384, 1024);
  for (size_t i = 0; i < wire.size(); ++i) {
    REQUIRE_FALSE(p.has_request());
    auto r = p.feed(as_bytes(std::string_view(wire).substr(i, 1)));
    REQUIRE(r.is_ok());
    REQUIRE(*r == 1);
    if (i > 0) CHECK(p.in_progress() == (i + 1 < wire.size()));
  }
  REQUIRE(p.has_request());
  auto req = p.take_request();
  CHECK(req.body == "abc");
  CHECK(req.header("host") == "h");
  CHECK_FALSE(p.in_progress());
}

TEST_CASE("http parser: head size cap") {
  int status = 0;
  std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  CHECK(parse_error(big, &status, 1024) == "request head exceeds 1024 bytes");
  CHECK(status == 431);
  // Exactly at the cap is accepted.
  std::string exact = "GET / HTTP/1.1\r\nX: ";
  exact += std::string(1024 - exact.size() - 4, 'b') + "\r\n\r\n";
  REQUIRE(exact.size() == 1024);
  CHECK(parse_error(exact, nullptr, 1024) == "");
  // The cap holds across split feeds too.
  HttpRequestParser p(1024, 0);
  std::string_view w = big;
  std::string err;
  while (!w.empty()) {
    auto r = p.feed(as_bytes(w.substr(0, 100)));
    if (!r) {
      err = r.error();
      break;
    }
    w.remove_prefix(*r);
  }
  CHECK(err == "request head exceeds 1024 bytes");
  // Failed parsers stay failed.
  auto again = p.feed(as_bytes("GET / HTTP/1.1\r\n\r\n"));
  CHECK_FALSE(again.is_ok());
  CHECK(p.failed());
}

TEST_CASE("http parser: target, header count and body caps") {
  int status = 0;
  CHECK(parse_error("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", &status, 65536) ==
        "request target exceeds 8192 bytes");
  CHECK(status == 414);

  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  CHECK(parse_error(many, &status) == "more than 100 header fields");
  CHECK(status == 431);

  CHECK(parse_error("POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", &status) ==
        "request body of 2000 bytes exceeds 1024 bytes");
  CHECK(status == 413);

  std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'z') + "\r\n";
  chunked += "0\r\n\r\n";
  CHECK(parse_error(chunked, &status) == "request body exceeds 1024 bytes");
  CHECK(status == 413);
}

TEST_CASE("http parser: bad requests") {
  int status = 0;
  CHECK(parse_error("GET /a/../etc/passwd HTTP/1.1\r\n\r\n", &status) == "'..' segment in path");
  CHECK(status == 400);
  CHECK(parse_error("GET /a/%2e%2e/b HTTP/1.1\r\n\r\n", &status) == "'..' segment in path");
  CHECK(parse_error("GET /.. HTTP/1.1\r\n\r\n", &status) == "'..' segment in path");
  CHECK(parse_error("GET /a%00b HTTP/1.1\r\n\r\n", &status) == "NUL byte in path");
  CHECK(parse_error("GET /a%zz HTTP/1.1\r\n\r\n", &status) == "bad percent-encoding in path");
  CHECK(parse_error("GET /a% HTTP/1.1\r\n\r\n", &status) == "bad percent-encoding in path");
  CHECK(parse_error("GET * HTTP/1.1\r\n\r\n", &status) == "'*' request target is only valid for OPTIONS");
  CHECK(parse_error("GET /x HTTP/2.0\r\n\r\n", &status) == "HTTP version 2.0 is not supported");
  CHECK(status == 505);
  CHECK(parse_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &status) == "HTTP/2 is not supported");

  CHECK(parse_error("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", &status) == "invalid header field name");
  CHECK(status == 400);
  CHECK_FALSE(parse_error("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", &status).empty());
  CHECK(status == 400);
  // llhttp's own errors come through with its reason.
  std::string e = parse_error("GET / HTTP/1.1\r\nBad\x01Header: x\r\n\r\n", &status);
  CHECK(e.rfind("bad request: ", 0) == 0);
  CHECK(status == 400);
  CHECK(parse_error("NOPE\r\n\r\n", &status).rfind("bad request: ", 0) == 0);
  CHECK(parse_error("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", &status)
            .rfind("bad request: ", 0) == 0);
  CHECK(parse_error("GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", &status).rfind("bad request: ", 0) == 0);
  // ".." inside a segment name is fine.
  CHECK(parse_error("GET /a..b/c.. HTTP/1.1\r\n\r\n") == "");
}

TEST_CASE("http parser: target forms") {
  HttpRequestParser p(16384, 1024);
  auto a = parse_all(p, "GET http://example.com:8080/live/s.m3u8?x=1 HTTP/1.1\r\n\r\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].path == "/live/s.m3u8");
  CHECK(a[0].query == "x=1");
  auto b = parse_all(p, "OPTIONS * HTTP/1.1\r\n\r\n");
  REQUIRE(b.size() == 1);
  CHECK(b[0].path == "*");
  auto c = parse_all(p, "GET http://example.com HTTP/1.1\r\n\r\n");
  REQUIRE(c.size() == 1);
  CHECK(c[0].path == "/");
}

TEST_CASE("http parser: upgrade request stops HTTP parsing") {
  HttpRequestParser p(16384, 1024);
  const std::string head =
      "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string wire = head + "\x81\x85";
  auto r = p.feed(as_bytes(wire));
  REQUIRE(r.is_ok());
  CHECK(*r == head.size());
  REQUIRE(p.has_request());
  auto req = p.take_request();
  CHECK(req.upgrade);
  CHECK_FALSE(req.keep_alive);
  CHECK(req.header("upgrade") == "websocket");
  auto more = p.feed(as_bytes(std::string_view(wire).substr(*r)));
  CHECK_FALSE(more.is_ok());
}

TEST_CASE("http parser: expect 100-continue") {
  HttpRequestParser p(16384, 1024);
  auto r = p.feed(as_bytes("POST /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  REQUIRE(r.is_ok());
  CHECK_FALSE(p.has_request());
  CHECK(p.take_expect_continue());
  CHECK_FALSE(p.take_expect_continue());  // once
  r = p.feed(as_bytes("abc"));
  REQUIRE(p.has_request());
  CHECK(p.take_request().body == "abc");
}

TEST_CASE("http parser: percent_decode") {
  using weir::protocol::percent_decode;
  CHECK(percent_decode("a%20b+c", false) == std::optional<std::string>("a b+c"));
  CHECK(percent_decode("a%20b+c", true) == std::optional<std::string>("a b c"));
  CHECK(percent_decode("%41%4a%4A", false) == std::optional<std::string>("AJJ"));
  CHECK_FALSE(percent_decode("%4", false).has_value());
  CHECK_FALSE(percent_decode("%g1", false).has_value());
}
