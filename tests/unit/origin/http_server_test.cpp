// HttpServer over real sockets: a one-loop LoopGroup serves on 127.0.0.1:0,
// the test thread talks to it with blocking POSIX sockets.
#include "origin/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/net.h"
#include "protocol/ws_frame.h"
#include "../test_net.h"

using namespace weir;
using namespace weir::origin::http;
using namespace std::chrono_literals;

namespace {

// Runs `fn` on `loop` after `ms` (loop thread only).
void after_ms(core::Loop& loop, uint64_t ms, std::function<void()> fn) {
  struct T {
    uv_timer_t t;
    std::function<void()> fn;
  };
  auto* t = new T{{}, std::move(fn)};
  uv_timer_init(loop.uv(), &t->t);
  t->t.data = t;
  uv_timer_start(&t->t, [](uv_timer_t* h) {
    auto* self = static_cast<T*>(h->data);
    self->fn();
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* h) { delete static_cast<T*>(h->data); });
  }, ms, 0);
}

struct Server {
  core::LoopGroup group{1};
  uint16_t port = 0;
  std::string start_error;

  Server(std::shared_ptr<const Router> router, core::HttpConfig cfg = {}) {
    int listen_fd = weir::test::loop_listener_fd(port);
    group.start([&, listen_fd](core::Loop& loop) {
      core::Status err;
      if (!HttpServer::start(loop, listen_fd, cfg, router, 0, err)) start_error = err.message();
    });
    REQUIRE(start_error.empty());
  }
  ~Server() { group.stop(); }
};

class Client {
 public:
  // rcvbuf > 0: a small receive buffer, so the server's writes come up short.
  explicit Client(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  ~Client() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      s.remove_prefix(size_t(n));
    }
  }
  // Ignores errors (the server may have closed already).
  void send_quiet(std::string_view s) { (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  void send(const std::vector<uint8_t>& b) { send(std::string_view(reinterpret_cast<const char*>(b.data()), b.size())); }

  // Reads more bytes into buf_; false on EOF, error or timeout.
  bool fill() {
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, size_t(n));
    return true;
  }
  // Exactly n bytes (or what came before EOF).
  std::string read_n(size_t n) {
    while (buf_.size() < n && fill()) {
    }
    std::string out = buf_.substr(0, std::min(n, buf_.size()));
    buf_.erase(0, out.size());
    return out;
  }
  std::string read_until_close() {
    while (fill()) {
    }
    return std::exchange(buf_, std::string());
  }
  // True if the server closed the connection (EOF) within the socket timeout.
  bool closed_by_peer() {
    while (fill()) {
    }
    return eof_;
  }

  struct Response {
    int status = 0;
    std::string status_line;
    std::map<std::string, std::string> headers;  // lower-cased names
    std::string body;
    bool has(const std::string& h) const { return headers.count(h) > 0; }
    std::string get(const std::string& h) const {
      auto it = headers.find(h);
      return it == headers.end() ? "" : it->second;
    }
  };

  // Reads one response; `head_only` for HEAD (Content-Length but no body);
  // a response without Content-Length is read until close.
  Response read_response(bool head_only = false) {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return r;
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    r.status_line = head.substr(0, line_end);
    if (r.status_line.size() >= 12) r.status = std::stoi(r.status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = char(std::tolower(c));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
      pos = e + 2;
    }
    if (head_only || r.status == 204 || r.status == 304 || r.status == 101) return r;
    if (r.has("content-length")) {
      r.body = read_n(std::stoul(r.get("content-length")));
    } else {
      r.body = read_until_close();
    }
    return r;
  }

  std::string& buffered() { return buf_; }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// Waits up to `limit` for `pred`.
template <class F>
bool eventually(F pred, std::chrono::milliseconds limit = 3000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

std::vector<uint8_t> masked_frame(uint8_t opcode, const std::string& payload) {
  const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
  std::vector<uint8_t> f;
  f.reserve(6 + payload.size());
  f.push_back(uint8_t(0x80 | opcode));
  f.push_back(uint8_t(0x80 | payload.size()));
  for (uint8_t k : key) f.push_back(k);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(uint8_t(payload[i]) ^ key[i & 3]);
  return f;
}

std::shared_ptr<Router> basic_router() {
  auto r = std::make_shared<Router>();
  r->add("GET", "/hello", [](ExchangeRef ex) {
    ex->respond(200, {{"Content-Type", "text/plain"}}, "hello " + ex->request().query_param("name").value_or("world"));
  });
  r->add("POST", "/echo", [](ExchangeRef ex) { ex->respond(200, {}, ex->request().body); });
  r->add("GET", "/n/{rest}", [](ExchangeRef ex) { ex->respond(200, {}, ex->request().path.substr(3)); });
  r->add("GET", "/slow", [](ExchangeRef ex) {
    after_ms(ex->loop(), 60, [ex] { ex->respond(200, {}, "slow"); });
  });
  r->add("GET", "/slice", [](ExchangeRef ex) {
    ex->respond(200, {{"Content-Type", "application/octet-stream"}}, core::Slice::copy_of(core::as_bytes("0123456789")));
  });
  return r;
}

}  // namespace

TEST_CASE("http server: 200, 404, 405 and standard headers") {
  Server s(basic_router());
  Client c(s.port);
  c.send("GET /hello?name=weir%20x HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status_line == "HTTP/1.1 200 OK");
  CHECK(r.body == "hello weir x");
  CHECK(r.get("content-length") == "12");
  CHECK(r.get("content-type") == "text/plain");
  CHECK(r.get("server") == "weir");
  CHECK(r.get("date").size() == 29);
  CHECK(r.get("access-control-allow-origin") == "*");
  CHECK(r.has("access-control-expose-headers"));
  CHECK_FALSE(r.has("connection"));

  c.send("GET /nothing HTTP/1.1\r\n\r\n");
  r = c.read_response();
  CHECK(r.status == 404);
  CHECK(r.body == "no such resource\n");

  c.send("DELETE /hello HTTP/1.1\r\n\r\n");
  r = c.read_response();
  CHECK(r.status == 405);
  CHECK(r.get("allow") == "GET, HEAD");

  c.send("POST /echo HTTP/1.1\r\nContent-Length: 7\r\n\r\npayload");
  r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "payload");

  c.send("GET /slice HTTP/1.1\r\n\r\n");
  r = c.read_response();
  CHECK(r.body == "0123456789");
  CHECK(r.get("content-type") == "application/octet-stream");
}

TEST_CASE("http server: CORS preflight and OPTIONS") {
  Server s(basic_router());
  Client c(s.port);
  c.send(
      "OPTIONS /hello HTTP/1.1\r\nOrigin: https://player.example\r\nAccess-Control-Request-Method: GET\r\n"
      "Access-Control-Request-Headers: X-Token, Range\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 204);
  CHECK(r.get("access-control-allow-origin") == "*");
  CHECK(r.get("access-control-allow-methods") == "GET, HEAD, OPTIONS");
  CHECK(r.get("access-control-allow-headers") == "X-Token, Range");
  CHECK(r.get("access-control-max-age") == "86400");
  CHECK_FALSE(r.has("content-length"));

  c.send("OPTIONS /echo HTTP/1.1\r\n\r\n");
  r = c.read_response();
  CHECK(r.status == 204);
  CHECK(r.get("allow") == "POST, OPTIONS");

  c.send("OPTIONS /missing HTTP/1.1\r\nOrigin: x\r\n\r\n");
  r = c.read_response();
  CHECK(r.status == 404);
}

TEST_CASE("http server: no CORS headers when cors_origin is empty") {
  core::HttpConfig cfg;
  cfg.cors_origin = "";
  Server s(basic_router(), cfg);
  Client c(s.port);
  c.send("GET /hello HTTP/1.1\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK_FALSE(r.has("access-control-allow-origin"));
}

TEST_CASE("http server: keep-alive, HTTP/1.0 and Connection: close") {
  Server s(basic_router());
  {
    Client c(s.port);
    c.send("GET /n/one HTTP/1.1\r\n\r\n");
    CHECK(c.read_response().body == "one");
    c.send("GET /n/two HTTP/1.1\r\n\r\n");
    CHECK(c.read_response().body == "two");
  }
  {
    Client c(s.port);
    c.send("GET /n/x HTTP/1.0\r\n\r\n");
    auto r = c.read_response();
    CHECK(r.status_line == "HTTP/1.0 200 OK");
    CHECK(r.get("connection") == "close");
    CHECK(c.closed_by_peer());
  }
  {
    Client c(s.port);
    c.send("GET /n/ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    CHECK(r.get("connection") == "keep-alive");
    c.send("GET /n/ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(c.read_response().body == "ka2");
  }
  {
    Client c(s.port);
    c.send("GET /n/bye HTTP/1.1\r\nConnection: close\r\n\r\n");
    auto r = c.read_response();
    CHECK(r.body == "bye");
    CHECK(r.get("connection") == "close");
    CHECK(c.closed_by_peer());
  }
}

TEST_CASE("http server: pipelined requests are answered in order") {
  Server s(basic_router());
  Client c(s.port);
  // The deferred /slow comes first; the later ones must wait for it.
  c.send(
      "GET /slow HTTP/1.1\r\n\r\n"
      "GET /n/a HTTP/1.1\r\n\r\n"
      "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
      "HEAD /n/b HTTP/1.1\r\n\r\n"
      "GET /n/c HTTP/1.1\r\n\r\n");
  CHECK(c.read_response().body == "slow");
  CHECK(c.read_response().body == "a");
  CHECK(c.read_response().body == "xyz");
  auto h = c.read_response(true);
  CHECK(h.status == 200);
  CHECK(h.get("content-length") == "1");
  CHECK(c.read_response().body == "c");
}

TEST_CASE("http server: HEAD sends headers only") {
  Server s(basic_router());
  Client c(s.port);
  c.send("HEAD /hello HTTP/1.1\r\n\r\n");
  auto r = c.read_response(true);
  CHECK(r.status == 200);
  CHECK(r.get("content-length") == "11");
  // No body bytes follow: the next response starts right away.
  c.send("GET /n/next HTTP/1.1\r\n\r\n");
  auto r2 = c.read_response();
  CHECK(r2.status_line == "HTTP/1.1 200 OK");
  CHECK(r2.body == "next");
}

TEST_CASE("http server: deferred response and abort callback") {
  struct State {
    std::mutex mu;
    ExchangeRef held;
    std::atomic<int> aborts{0};
    std::atomic<bool> alive_after_abort{true};
  };
  auto st = std::make_shared<State>();
  auto r = std::make_shared<Router>();
  r->add("GET", "/timer", [](ExchangeRef ex) {
    after_ms(ex->loop(), 80, [ex] {
      CHECK(ex->alive());
      ex->respond(200, {}, "from timer");
      CHECK_FALSE(ex->alive());
      ex->respond(500, {}, "ignored");  // second response: no-op
    });
  });
  r->add("GET", "/hold", [st](ExchangeRef ex) {
    std::weak_ptr<Exchange> weak = ex;
    ex->on_abort([st, weak] {
      st->aborts++;
      if (auto e = weak.lock()) st->alive_after_abort = e->alive();
    });
    std::lock_guard<std::mutex> lk(st->mu);
    st->held = ex;  // answered never
  });
  Server s(r);
  {
    Client c(s.port);
    auto t0 = std::chrono::steady_clock::now();
    c.send("GET /timer HTTP/1.1\r\n\r\n");
    auto resp = c.read_response();
    CHECK(resp.body == "from timer");
    CHECK(std::chrono::steady_clock::now() - t0 >= 70ms);
    // The connection still works afterwards.
    c.send("GET /timer HTTP/1.1\r\n\r\n");
    CHECK(c.read_response().body == "from timer");
  }
  {
    Client c(s.port);
    c.send("GET /hold HTTP/1.1\r\n\r\n");
    REQUIRE(eventually([&] {
      std::lock_guard<std::mutex> lk(st->mu);
      return st->held != nullptr;
    }));
    c.close();
    REQUIRE(eventually([&] { return st->aborts.load() == 1; }));
    CHECK_FALSE(st->alive_after_abort.load());
  }
  {
    // A held request is aborted at shutdown too.
    Client c(s.port);
    {
      std::lock_guard<std::mutex> lk(st->mu);
      st->held.reset();
    }
    c.send("GET /hold HTTP/1.1\r\n\r\n");
    REQUIRE(eventually([&] {
      std::lock_guard<std::mutex> lk(st->mu);
      return st->held != nullptr;
    }));
    s.group.stop();
    CHECK(st->aborts.load() == 2);
  }
}

TEST_CASE("http server: start_stream writes a close-delimited body") {
  struct Streamer final : StreamSink {
    core::TcpConn* conn = nullptr;
    int sent = 0;
    std::atomic<bool> closed{false};
    void on_closed() override {
      conn = nullptr;
      closed = true;
    }
    void tick(core::Loop& loop) {
      if (!conn) return;
      if (sent == 5) {
        conn->close();
        return;
      }
      std::string chunk = "chunk" + std::to_string(sent++) + ";";
      conn->append(core::Slice::copy_of(core::as_bytes(chunk)));
      conn->flush();
      after_ms(loop, 10, [this, &loop] { tick(loop); });
    }
  };
  auto streamer = std::make_shared<Streamer>();
  auto r = std::make_shared<Router>();
  r->add("GET", "/live.flv", [streamer](ExchangeRef ex) {
    streamer->conn = ex->start_stream(200, {{"Content-Type", "video/x-flv"}}, streamer.get());
    REQUIRE(streamer->conn != nullptr);
    CHECK_FALSE(ex->alive());
    streamer->tick(ex->loop());
  });
  Server s(r);
  Client c(s.port);
  c.send("GET /live.flv HTTP/1.1\r\n\r\n");
  auto resp = c.read_response();  // no Content-Length: reads until close
  CHECK(resp.status == 200);
  CHECK(resp.get("content-type") == "video/x-flv");
  CHECK(resp.get("connection") == "close");
  CHECK_FALSE(resp.has("content-length"));
  CHECK(resp.body == "chunk0;chunk1;chunk2;chunk3;chunk4;");
  CHECK(eventually([&] { return streamer->closed.load(); }));
}

TEST_CASE("http server: HEAD on a stream route gets the head and a close") {
  std::atomic<bool> got_null{false};
  auto r = std::make_shared<Router>();
  struct Nop final : StreamSink {
    void on_closed() override {}
  };
  static Nop nop;
  r->add("GET", "/live.flv", [&got_null](ExchangeRef ex) {
    got_null = ex->start_stream(200, {{"Content-Type", "video/x-flv"}}, &nop) == nullptr;
  });
  Server s(r);
  Client c(s.port);
  c.send("HEAD /live.flv HTTP/1.1\r\n\r\n");
  auto resp = c.read_response(true);
  CHECK(resp.status == 200);
  CHECK(resp.get("connection") == "close");
  CHECK(c.closed_by_peer());
  CHECK(got_null.load());
}

TEST_CASE("http server: websocket upgrade, server frame, ping/pong, close") {
  struct WsSink final : StreamSink {
    std::atomic<bool> closed{false};
    std::atomic<int> messages{0};
    void on_closed() override { closed = true; }
    void on_ws_message(const protocol::WsMessage& m) override { messages++; }
  };
  auto sink = std::make_shared<WsSink>();
  auto r = std::make_shared<Router>();
  r->add("GET", "/ws", [sink](ExchangeRef ex) {
    core::TcpConn* conn = ex->accept_websocket(sink.get());
    if (!conn) return;
    uint8_t hdr[protocol::ws::kMaxFrameHeader];
    size_t n = protocol::write_ws_frame_header(hdr, protocol::ws::kBinary, true, 5);
    core::ByteWriter w;
    w.bytes(core::ByteView(hdr, n));
    w.bytes("FLV\x01\x05");
    conn->append(w.finish());
    conn->flush();
  });
  Server s(r);
  Client c(s.port);
  c.send(
      "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  auto resp = c.read_response();
  REQUIRE(resp.status == 101);
  CHECK(resp.get("upgrade") == "websocket");
  CHECK(resp.get("connection") == "Upgrade");
  CHECK(resp.get("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(c.read_n(7) == std::string("\x82\x05" "FLV\x01\x05", 7));

  c.send(masked_frame(protocol::ws::kPing, "hi"));
  CHECK(c.read_n(4) == std::string("\x8A\x02hi", 4));
  c.send(masked_frame(protocol::ws::kText, "ignored"));
  REQUIRE(eventually([&] { return sink->messages.load() == 1; }));
  c.send(masked_frame(protocol::ws::kClose, std::string("\x03\xE8", 2)));
  CHECK(c.read_n(4) == std::string("\x88\x02\x03\xE8", 4));
  CHECK(c.closed_by_peer());
  CHECK(eventually([&] { return sink->closed.load(); }));
}

TEST_CASE("http server: websocket protocol error closes with 1002") {
  struct WsSink final : StreamSink {
    std::atomic<bool> closed{false};
    void on_closed() override { closed = true; }
  };
  auto sink = std::make_shared<WsSink>();
  auto r = std::make_shared<Router>();
  r->add("GET", "/ws", [sink](ExchangeRef ex) { ex->accept_websocket(sink.get()); });
  Server s(r);
  Client c(s.port);
  c.send(
      "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  REQUIRE(c.read_response().status == 101);
  c.send(std::string("\x81\x02hi", 4));  // unmasked client frame
  CHECK(c.read_n(4) == std::string("\x88\x02\x03\xEA", 4));
  CHECK(c.closed_by_peer());
  CHECK(eventually([&] { return sink->closed.load(); }));
}

TEST_CASE("http server: bad websocket upgrades get 400") {
  struct Nop final : StreamSink {
    void on_closed() override {}
  };
  static Nop nop;
  std::atomic<int> nulls{0};
  auto r = std::make_shared<Router>();
  auto upgrade = [&nulls](ExchangeRef ex) {
    if (!ex->accept_websocket(&nop)) nulls++;
  };
  r->add("GET", "/ws", upgrade);
  r->add("POST", "/ws", upgrade);
  Server s(r);
  const char* bad[] = {
      "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
      "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 8\r\n\r\n",
      "GET /ws HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      "POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
  };
  const char* reasons[] = {"missing or malformed Sec-WebSocket-Key\n", "unsupported Sec-WebSocket-Version (need 13)\n",
                           "missing Upgrade: websocket\n", "websocket upgrade needs GET\n"};
  for (int i = 0; i < 4; ++i) {
    Client c(s.port);
    c.send(bad[i]);
    auto resp = c.read_response();
    CHECK(resp.status == 400);
    CHECK(resp.body == reasons[i]);
  }
  CHECK(eventually([&] { return nulls.load() == 4; }));
}

TEST_CASE("http server: request timeout closes a slow client") {
  core::HttpConfig cfg;
  cfg.request_timeout_ms = 300;
  Server s(basic_router(), cfg);
  {
    // Trickles header lines every 50 ms (never idle), never finishing.
    Client c(s.port);
    auto t0 = std::chrono::steady_clock::now();
    c.send("GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 12; ++i) {  // keeps going past the 300 ms deadline
      std::this_thread::sleep_for(50ms);
      c.send_quiet("X-" + std::to_string(i) + ": y\r\n");
    }
    auto resp = c.read_response();
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(resp.status == 408);
    CHECK(resp.body == "request not complete within 300 ms\n");
    CHECK(resp.get("connection") == "close");
    CHECK(c.closed_by_peer());
    CHECK(took >= 250ms);
    CHECK(took < 1500ms);
  }
  {
    // A silent connection is closed without a response.
    Client c(s.port);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(c.read_until_close().empty());
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 250ms);
    CHECK(took < 1500ms);
  }
  {
    // Keep-alive: the timer restarts after each response.
    Client c(s.port);
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(200ms);
      c.send("GET /n/k HTTP/1.1\r\n\r\n");
      CHECK(c.read_response().body == "k");
    }
  }
}

TEST_CASE("http server: oversize header gets 431, malformed request gets 400") {
  core::HttpConfig cfg;
  cfg.max_header_size = 1024;
  Server s(basic_router(), cfg);
  {
    Client c(s.port);
    c.send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    auto resp = c.read_response();
    CHECK(resp.status == 431);
    CHECK(resp.body == "request head exceeds 1024 bytes\n");
    CHECK(resp.get("connection") == "close");
    CHECK(c.closed_by_peer());
  }
  {
    Client c(s.port);
    c.send("GET /../secret HTTP/1.1\r\n\r\n");
    auto resp = c.read_response();
    CHECK(resp.status == 400);
    CHECK(resp.body == "'..' segment in path\n");
    CHECK(c.closed_by_peer());
  }
  {
    Client c(s.port);
    c.send("BLAH\x01 / HTTP/1.1\r\n\r\n");
    auto resp = c.read_response();
    CHECK(resp.status == 400);
    CHECK(c.closed_by_peer());
  }
  {
    // Other connections are unaffected.
    Client c(s.port);
    c.send("GET /hello HTTP/1.1\r\n\r\n");
    CHECK(c.read_response().status == 200);
  }
}

TEST_CASE("http server: counters") {
  auto& k = http_counters();
  const uint64_t ok_before = k.requests_by_class[2].load();
  const uint64_t nf_before = k.requests_by_class[4].load();
  Server s(basic_router());
  {
    Client c(s.port);
    c.send("GET /hello HTTP/1.1\r\n\r\n");
    c.read_response();
    CHECK(k.open_connections.load() >= 1);
    c.send("GET /zzz HTTP/1.1\r\n\r\n");
    c.read_response();
  }
  CHECK(k.requests_by_class[2].load() == ok_before + 1);
  CHECK(k.requests_by_class[4].load() == nf_before + 1);
  CHECK(eventually([&] { return k.open_connections.load() == 0; }));
}

TEST_CASE("http server: Expect: 100-continue") {
  Server s(basic_router());
  Client c(s.port);
  c.send("POST /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  CHECK(c.read_n(25) == "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("body");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "body");
}

TEST_CASE("http server: input sent while a request is held is capped") {
  auto held = std::make_shared<std::vector<ExchangeRef>>();
  std::atomic<int> aborts{0};
  auto r = std::make_shared<Router>();
  r->add("GET", "/hold", [held, &aborts](ExchangeRef ex) {
    ex->on_abort([&aborts] { aborts++; });
    held->push_back(ex);
  });
  Server s(r);
  Client c(s.port);
  c.send("GET /hold HTTP/1.1\r\n\r\n");
  const std::string junk(16 * 1024, 'j');
  for (size_t sent = 0; sent < HttpConnection::kMaxBufferedInput + 64 * 1024; sent += junk.size()) c.send_quiet(junk);
  CHECK(c.closed_by_peer());
  CHECK(eventually([&] { return aborts.load() == 1; }));
  s.group.stop();  // `held` is touched by the loop thread only until here
}

TEST_CASE("http server: memfd bodies go out whole and in order, to fast and to slow readers") {
  // 3 MB of a pattern in a memfd; /big sends it all, /mid a window of it
  // (sendfile offset), /small a heap body between them.
  std::vector<uint8_t> pattern(3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = uint8_t((i * 131) ^ (i >> 11));
  core::Slice big(core::Buffer::memfd_copy_of(pattern));
  REQUIRE(big.buffer()->fd() >= 0);
  const size_t mid_off = 12345, mid_len = 1000000;
  auto r = std::make_shared<Router>();
  r->add("GET", "/big", [big](ExchangeRef ex) { ex->respond(200, {}, big); });
  r->add("GET", "/mid", [big](ExchangeRef ex) { ex->respond(200, {}, big.sub(mid_off, mid_len)); });
  r->add("GET", "/small", [](ExchangeRef ex) { ex->respond(200, {}, "small"); });
  Server s(r);
  const std::string whole(reinterpret_cast<const char*>(pattern.data()), pattern.size());

  SECTION("a reader that keeps up") {
    Client c(s.port);
    c.send("GET /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\nGET /mid HTTP/1.1\r\n\r\n");
    auto a = c.read_response();
    CHECK(a.status == 200);
    CHECK((a.body == whole));
    CHECK(c.read_response().body == "small");
    CHECK((c.read_response().body == whole.substr(mid_off, mid_len)));
  }
  SECTION("a reader that stalls first: the kernel takes part, the rest follows from the mapping") {
    Client c(s.port, 16 * 1024);
    c.send("GET /mid HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\n");
    std::this_thread::sleep_for(300ms);  // socket buffers fill; sendfile comes up short
    CHECK((c.read_response().body == whole.substr(mid_off, mid_len)));
    CHECK((c.read_response().body == whole));
    CHECK(c.read_response().body == "small");
    CHECK((c.read_response().body == whole));
  }
}
