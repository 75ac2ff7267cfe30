// Connector over real loopback sockets: connects, names refused addresses,
// gives up at its deadline, and closes what it started when destroyed.
#include "core/connector.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net_test_support.h"

using namespace weir;
using namespace weir::test;

namespace {

struct Outcome {
  std::atomic<bool> done{false};
  bool ok = false;
  std::string error;
  core::TcpConn* conn = nullptr;
};

void start_connect(TestLoop& tl, std::unique_ptr<core::Connector>& c, const std::string& host, uint16_t port,
                   core::ConnectOptions opts, Outcome& out) {
  tl.run([&] {
    c = std::make_unique<core::Connector>(tl.loop());
    c->connect(host, port, opts, [&](core::Result<core::TcpConn*> r) {
      out.ok = r.is_ok();
      if (r) out.conn = *r;
      else out.error = r.error();
      out.done = true;
    });
  });
}

// A listener that never accepts, with its accept queue full: the kernel drops
// further SYNs, so a connect to it hangs until its deadline.
class FullListener {
 public:
  FullListener() {
    // Fill the queue until a connect stays pending.
    for (int i = 0; i < 16; ++i) {
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      fillers_.push_back(s);
      ::connect(s, reinterpret_cast<const sockaddr*>(&listener_.addr), sizeof listener_.addr);
      pollfd p{s, POLLOUT, 0};
      if (::poll(&p, 1, 200) == 0) return;
    }
    FAIL("could not fill the accept queue");
  }
  ~FullListener() {
    for (int s : fillers_) ::close(s);
  }
  RawListener listener_{0};
  const uint16_t port = listener_.port;

 private:
  std::vector<int> fillers_;
};

}  // namespace

TEST_CASE("connector connects to a listener and hands over a working conn") {
  TestLoop tl;
  auto seen = std::make_shared<ServerSeen>();
  uint16_t port = listen_on(tl, [seen](core::TcpConn* c) { EchoHandler::start(c, seen); });
  for (const char* host : {"127.0.0.1", "localhost"}) {
    INFO(host);
    std::unique_ptr<core::Connector> c;
    Outcome out;
    start_connect(tl, c, host, port, {}, out);
    REQUIRE(wait_until([&] { return out.done.load(); }));
    REQUIRE(out.ok);
    Collector col;
    tl.run([&] {
      CHECK(out.conn->peer() == "127.0.0.1:" + std::to_string(port));
      out.conn->set_handler(&col);
      out.conn->start_reading();
      out.conn->send(core::Slice::copy_of(core::as_bytes("hello")));
    });
    REQUIRE(wait_until([&] { return col.size.load() == 5; }));
    CHECK(col.got == "hello");
    tl.run([&] {
      col.conn()->close();
      c.reset();
    });
    REQUIRE(wait_until([&] { return col.closed.load(); }));
  }
}

TEST_CASE("a refused connect names the host and every address tried") {
  TestLoop tl;
  uint16_t port = free_port();
  std::unique_ptr<core::Connector> c;
  Outcome v4;
  start_connect(tl, c, "127.0.0.1", port, {}, v4);
  REQUIRE(wait_until([&] { return v4.done.load(); }));
  CHECK_FALSE(v4.ok);
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  CHECK(v4.error == "connect " + addr + ": " + addr + ": connection refused");
  // localhost has two addresses; both are tried and reported.
  Outcome lh;
  start_connect(tl, c, "localhost", port, {}, lh);
  REQUIRE(wait_until([&] { return lh.done.load(); }));
  CHECK_FALSE(lh.ok);
  INFO(lh.error);
  CHECK(lh.error.rfind("connect localhost:" + std::to_string(port) + ": " + addr + ": connection refused; [::1]:", 0) == 0);
  // A name that does not resolve.
  Outcome bad;
  start_connect(tl, c, "no-such-host.invalid", 80, {}, bad);
  REQUIRE(wait_until([&] { return bad.done.load(); }, 30000));
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("connect no-such-host.invalid:80: resolve 'no-such-host.invalid'") == 0);
  tl.run([&] { c.reset(); });
}

TEST_CASE("a connect that gets no answer times out at the deadline") {
  TestLoop tl;
  FullListener full;
  std::unique_ptr<core::Connector> c;
  Outcome out;
  core::ConnectOptions opts;
  opts.timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  start_connect(tl, c, "127.0.0.1", full.port, opts, out);
  REQUIRE(wait_until([&] { return out.done.load(); }));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK_FALSE(out.ok);
  CHECK(out.error == "connect 127.0.0.1:" + std::to_string(full.port) + ": timed out after 300 ms");
  CHECK(ms >= 290);
  CHECK(ms < 2000);
  tl.run([&] { c.reset(); });
}

TEST_CASE("an address that hangs gets its share of the deadline; the next one is tried") {
  // "localhost" is 127.0.0.1 then ::1. 127.0.0.1:P drops SYNs, [::1]:P
  // answers: the first attempt must give up after its share (half of the
  // 1 s deadline) and the second must connect.
  TestLoop tl;
  FullListener full;
  auto v6 = core::parse_listen_address("[::1]:" + std::to_string(full.port));
  REQUIRE(v6.is_ok());
  auto fd = core::open_tcp_listener(*v6, 16);
  if (!fd) {
    WARN("no IPv6 loopback here: " << fd.error());
    return;
  }
  auto seen = std::make_shared<ServerSeen>();
  std::string err;
  tl.run([&] {
    core::Status st;
    if (!core::TcpListener::open(tl.loop(), "v6", *fd, 0, [seen](core::TcpConn* c) { EchoHandler::start(c, seen); }, st))
      err = st.message();
  });
  REQUIRE(err.empty());
  std::unique_ptr<core::Connector> c;
  Outcome out;
  core::ConnectOptions opts;
  opts.timeout_ms = 1000;
  auto t0 = std::chrono::steady_clock::now();
  start_connect(tl, c, "localhost", full.port, opts, out);
  REQUIRE(wait_until([&] { return out.done.load(); }));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  INFO(out.error);
  REQUIRE(out.ok);
  CHECK(ms >= 490);
  CHECK(ms < 1000);
  tl.run([&] {
    CHECK(out.conn->peer() == "[::1]:" + std::to_string(full.port));
    out.conn->close();
    c.reset();
  });
}

TEST_CASE("destroying a connector before completion closes its connection and suppresses the callback") {
  TestLoop tl;
  std::atomic<int> calls{0};
  SECTION("while the TCP connect hangs") {
    FullListener full;
    tl.run([&] {
      auto c = std::make_unique<core::Connector>(tl.loop());
      c->connect("127.0.0.1", full.port, {}, [&](auto) { calls++; });
    });  // destroyed at once
    std::unique_ptr<core::Connector> c;
    tl.run([&] {
      c = std::make_unique<core::Connector>(tl.loop());
      c->connect("127.0.0.1", full.port, {}, [&](auto) { calls++; });
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    tl.run([&] { c.reset(); });
  }
  SECTION("while the TLS handshake waits for a server that never answers") {
    auto seen = std::make_shared<ServerSeen>();
    // Accepts and reads, never speaks TLS.
    uint16_t port = listen_on(tl, [seen](core::TcpConn* c) { (new ServerHandler(seen))->attach(c, nullptr); });
    auto tls = core::TlsContext::client({});
    REQUIRE(tls.is_ok());
    std::unique_ptr<core::Connector> c;
    tl.run([&] {
      c = std::make_unique<core::Connector>(tl.loop());
      core::ConnectOptions o;
      o.tls = *tls;
      c->connect("127.0.0.1", port, o, [&](auto) { calls++; });
    });
    REQUIRE(wait_until([&] { return seen->bytes.load() > 0; }));  // the client hello arrived
    tl.run([&] { c.reset(); });
    // The half-open connection was closed: the server sees the end.
    REQUIRE(wait_until([&] { return seen->closed.load(); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(calls == 0);
}
