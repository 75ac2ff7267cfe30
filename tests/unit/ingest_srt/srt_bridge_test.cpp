// SrtBridge (the one SRT thread) and SrtCaller over loopback with real libsrt
// sockets: a listener whose accepts the bridge hands to a hook, an outbound
// caller that connects, sends 1316-byte messages and is read back through the
// bridge's input queue; connect failures and access-control rejections reach
// the caller's handler with the reason; stop() closes what is left.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <srt/access_control.h>
#include <srt/srt.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "../test_loop.h"
#include "core/srt_url.h"
#include "ingest/srt/srt_bridge.h"
#include "ingest/srt/srt_caller.h"

using namespace weir;
using namespace weir::ingest::srt;

namespace {

// The accepted side: counts what the bridge queued for it.
struct Sink final : SrtSession {
  SrtConnRef conn;
  std::atomic<size_t> got{0};
  std::atomic<bool> ended{false};
  std::string why;  // loop thread; read after `ended`
  std::atomic<int> first_byte{-1};
  void on_input() override {
    std::lock_guard<std::mutex> lk(conn->mu);
    conn->input_posted = false;
    if (!conn->input.empty() && first_byte.load() < 0) first_byte = conn->input[0];
    got += conn->input.size();
    conn->input.clear();
  }
  void on_conn_end(const std::string& w) override {
    why = w;
    ended = true;
  }
  void close_for_shutdown() override {}
};

struct Caller final : SrtCaller::Handler {
  std::atomic<bool> connected{false}, closed{false};
  std::string why;
  void on_srt_connected() override { connected = true; }
  void on_srt_data(core::ByteView) override {}
  void on_srt_closed(const std::string& w) override {
    why = w;
    closed = true;
  }
};

// A non-blocking listener on 127.0.0.1 (port chosen by the system).
SRTSOCKET listen_on(uint16_t& port, srt_listen_callback_fn* cb = nullptr) {
  SRTSOCKET l = srt_create_socket();
  const int no = 0;
  srt_setsockflag(l, SRTO_RCVSYN, &no, sizeof no);
  srt_setsockflag(l, SRTO_SNDSYN, &no, sizeof no);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(srt_bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != SRT_ERROR);
  if (cb) srt_listen_callback(l, cb, nullptr);
  REQUIRE(srt_listen(l, 16) != SRT_ERROR);
  int len = sizeof sa;
  srt_getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return l;
}

core::SrtUrl url_for(uint16_t port, const std::string& query = "") {
  auto u = core::parse_srt_url("srt://127.0.0.1:" + std::to_string(port) + query);
  REQUIRE(u);
  return *u;
}

}  // namespace

TEST_CASE("SrtBridge: a caller connects, its messages reach the accepted side through the bridge; stop closes all") {
  test::TestLoop tl;
  SrtBridge bridge;
  CHECK_FALSE(bridge.running());  // nothing started until SRT is used
  REQUIRE(bridge.ensure_running());
  REQUIRE(bridge.ensure_running());  // idempotent
  uint16_t port = 0;
  SRTSOCKET l = listen_on(port);
  Sink sink;
  std::atomic<int> closed_hooks{0};
  std::string sid_seen;
  std::mutex sid_mu;
  REQUIRE(bridge.add_listener(l, [&] {
    sockaddr_storage ss{};
    int sslen = sizeof ss;
    SRTSOCKET s = srt_accept(l, reinterpret_cast<sockaddr*>(&ss), &sslen);
    if (s == SRT_INVALID_SOCK) return;
    char sid[600];
    int n = sizeof sid;
    if (srt_getsockflag(s, SRTO_STREAMID, sid, &n) == 0) {
      std::lock_guard<std::mutex> lk(sid_mu);
      sid_seen.assign(sid, size_t(n));
    }
    const int no = 0;
    srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof no);
    auto c = std::make_shared<SrtConn>();
    c->sock = s;
    c->loop = &tl.loop();
    c->receives = true;
    c->peer = "test";
    c->session = &sink;
    c->on_closed = [&] { closed_hooks++; };
    sink.conn = c;
    bridge.adopt(c);
  }));

  Caller h;
  std::unique_ptr<SrtCaller> caller;
  tl.run([&] {
    SrtCallerOptions o;
    o.receive = false;
    o.connect_timeout_ms = 3000;
    caller = std::make_unique<SrtCaller>(tl.loop(), bridge, h, o);
    REQUIRE(caller->start(url_for(port, "?streamid=#!::r=live/s,m=publish&latency=50")));
  });
  REQUIRE(test::wait_until([&] { return h.connected.load(); }));
  {
    std::lock_guard<std::mutex> lk(sid_mu);
    CHECK(sid_seen == "#!::r=live/s,m=publish");  // SRTO_STREAMID from the URL
  }
  // Both ends are watched by the one bridge.
  REQUIRE(test::wait_until([&] { return bridge.open_connections() == 2; }));
  // 100 whole messages of 7 TS packets plus a partial one (flushed).
  std::vector<uint8_t> ts(188 * 7 * 100 + 188 * 3, 0x47);
  tl.run([&] {
    REQUIRE(caller->send(core::ByteView(ts.data(), ts.size())));
    caller->flush();
  });
  REQUIRE(test::wait_until([&] { return sink.got.load() == ts.size(); }, 10000));
  CHECK(sink.first_byte.load() == 0x47);
  tl.run([&] { CHECK(caller->bytes_out() == ts.size()); });

  // The cap: a send that would pass max_queued_bytes is refused whole.
  Caller h2;
  std::unique_ptr<SrtCaller> small;
  tl.run([&] {
    SrtCallerOptions o;
    o.receive = false;
    o.max_queued_bytes = 2000;
    small = std::make_unique<SrtCaller>(tl.loop(), bridge, h2, o);
    REQUIRE(small->start(url_for(port)));
    CHECK_FALSE(small->send(core::ByteView(ts.data(), 188)));  // not connected yet
  });
  REQUIRE(test::wait_until([&] { return h2.connected.load(); }));
  tl.run([&] { CHECK_FALSE(small->send(core::ByteView(ts.data(), 2001))); });

  // The caller goes away: the accepted side learns the connection ended.
  tl.run([&] {
    caller.reset();
    small.reset();
  });
  REQUIRE(test::wait_until([&] { return sink.ended.load(); }, 10000));
  CHECK_FALSE(h.closed.load());  // destroying a caller calls no handler
  // The accepted socket is still watched until its session asks; stop() closes it.
  bridge.remove_listener(l);
  srt_close(l);
  bridge.stop();
  CHECK_FALSE(bridge.running());
  CHECK(closed_hooks.load() == 2);  // both accepted ends (the two callers), closed by stop()
  CHECK(bridge.open_connections() == 0);
  CHECK_FALSE(bridge.ensure_running());  // no restart after stop
}

namespace {
int refuse_404(void*, SRTSOCKET ns, int, const sockaddr*, const char*) {
  srt_setrejectreason(ns, SRT_REJX_NOTFOUND);
  return -1;
}
}  // namespace

TEST_CASE("SrtCaller: a refused or unanswered connect reaches the handler with the reason") {
  test::TestLoop tl;
  SrtBridge bridge;
  uint16_t port = 0;
  REQUIRE(bridge.ensure_running());
  SRTSOCKET l = listen_on(port, &refuse_404);
  REQUIRE(bridge.add_listener(l, [] {}));
  Caller refused, silent;
  std::unique_ptr<SrtCaller> a, b;
  // A UDP port nobody answers on: a bound socket that never listens.
  uint16_t dead_port = 0;
  SRTSOCKET dead = listen_on(dead_port);
  srt_close(dead);
  tl.run([&] {
    SrtCallerOptions o;
    o.connect_timeout_ms = 1500;
    a = std::make_unique<SrtCaller>(tl.loop(), bridge, refused, o);
    REQUIRE(a->start(url_for(port, "?streamid=#!::r=live/none,m=request")));
    b = std::make_unique<SrtCaller>(tl.loop(), bridge, silent, o);
    REQUIRE(b->start(url_for(dead_port)));
  });
  REQUIRE(test::wait_until([&] { return refused.closed.load(); }, 10000));
  CHECK_THAT(refused.why, Catch::Contains("reject code 1404"));
  REQUIRE(test::wait_until([&] { return silent.closed.load(); }, 10000));
  CHECK_THAT(silent.why, Catch::Contains("connect"));
  CHECK_FALSE(refused.connected.load());
  tl.run([&] {
    a.reset();
    b.reset();
  });
  bridge.remove_listener(l);
  srt_close(l);
  bridge.stop();
  CHECK(bridge.open_connections() == 0);
}
