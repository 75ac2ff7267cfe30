// Resolver on a real loop: literals need no lookup, names go through
// getaddrinfo on the threadpool, failures name the host, and destroying the
// resolver suppresses its callback.
#include "core/resolver.h"

#include <netdb.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "../test_loop.h"

using namespace weir;
using weir::test::TestLoop;
using weir::test::wait_until;

namespace {

struct Outcome {
  std::atomic<bool> returned{false};
  std::atomic<bool> done{false};
  bool on_loop = false;
  bool ok = false;
  std::string error;
  std::vector<std::string> addrs;
};

// Resolves on the loop; the test thread waits for the callback.
void resolve(TestLoop& tl, std::unique_ptr<core::Resolver>& r, const std::string& host, uint16_t port, Outcome& out) {
  tl.run([&] {
    r = std::make_unique<core::Resolver>(tl.loop());
    r->resolve(host, port, [&out, loop = &tl.loop()](core::Result<core::Resolver::Addresses> res) {
      out.on_loop = out.returned && loop->on_loop_thread();  // never inside resolve()
      out.ok = res.is_ok();
      if (res) {
        for (auto& a : *res) out.addrs.push_back(a.to_string());
      } else {
        out.error = res.error();
      }
      out.done = true;
    });
    out.returned = true;
  });
}

}  // namespace

TEST_CASE("literal addresses and localhost need no lookup") {
  auto lh = core::literal_addresses("localhost", 80);
  REQUIRE(lh.has_value());
  REQUIRE(lh->size() == 2);
  CHECK((*lh)[0].to_string() == "127.0.0.1:80");
  CHECK((*lh)[1].to_string() == "[::1]:80");
  auto v4 = core::literal_addresses("10.1.2.3", 1935);
  REQUIRE(v4.has_value());
  REQUIRE(v4->size() == 1);
  CHECK((*v4)[0].to_string() == "10.1.2.3:1935");
  auto v6 = core::literal_addresses("2001:db8::7", 443);
  REQUIRE(v6.has_value());
  CHECK((*v6)[0].to_string() == "[2001:db8::7]:443");
  CHECK_FALSE(core::literal_addresses("example.com", 80).has_value());
  CHECK_FALSE(core::literal_addresses("[::1]", 80).has_value());  // brackets belong to URLs
}

TEST_CASE("resolver answers literals on the loop, after resolve() returned") {
  TestLoop tl;
  std::unique_ptr<core::Resolver> r;
  Outcome v4, lh, v6;
  resolve(tl, r, "127.0.0.1", 8080, v4);
  REQUIRE(wait_until([&] { return v4.done.load(); }));
  CHECK(v4.ok);
  CHECK(v4.on_loop);
  CHECK(v4.addrs == std::vector<std::string>{"127.0.0.1:8080"});
  resolve(tl, r, "localhost", 1, lh);
  REQUIRE(wait_until([&] { return lh.done.load(); }));
  CHECK(lh.addrs == std::vector<std::string>{"127.0.0.1:1", "[::1]:1"});
  resolve(tl, r, "::1", 2, v6);
  REQUIRE(wait_until([&] { return v6.done.load(); }));
  CHECK(v6.addrs == std::vector<std::string>{"[::1]:2"});
  tl.run([&] { r.reset(); });
}

TEST_CASE("resolver looks names up off the loop, like getaddrinfo on this machine") {
  // The machine's own host name: whatever the system resolver says about it
  // (computed here with a blocking call on the test thread) must come back.
  char name[256] = {};
  REQUIRE(gethostname(name, sizeof name - 1) == 0);
  std::set<std::string> expected;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(name, nullptr, &hints, &res);
  for (addrinfo* ai = rc == 0 ? res : nullptr; ai; ai = ai->ai_next) {
    core::SocketAddress a;
    std::memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
    a.len = socklen_t(ai->ai_addrlen);
    a.set_port(554);
    expected.insert(a.to_string());
  }
  if (res) freeaddrinfo(res);

  TestLoop tl;
  std::unique_ptr<core::Resolver> r;
  Outcome out;
  resolve(tl, r, name, 554, out);
  REQUIRE(wait_until([&] { return out.done.load(); }, 20000));
  CHECK(out.on_loop);
  if (rc == 0) {
    INFO(out.error);
    REQUIRE(out.ok);
    CHECK(std::set<std::string>(out.addrs.begin(), out.addrs.end()) == expected);
    CHECK(out.addrs.size() == expected.size());  // no duplicates
  } else {
    CHECK_FALSE(out.ok);
  }
  tl.run([&] { r.reset(); });
}

TEST_CASE("a name that does not resolve is an error naming it") {
  TestLoop tl;
  std::unique_ptr<core::Resolver> r;
  Outcome out;
  // RFC 6761 6.4: .invalid never resolves.
  resolve(tl, r, "no-such-host.invalid", 80, out);
  REQUIRE(wait_until([&] { return out.done.load(); }, 30000));
  CHECK_FALSE(out.ok);
  CHECK(out.error.find("no-such-host.invalid") != std::string::npos);
  Outcome empty;
  resolve(tl, r, std::string(300, 'a'), 80, empty);
  REQUIRE(wait_until([&] { return empty.done.load(); }));
  CHECK_FALSE(empty.ok);
  CHECK(empty.error.find("not a host name") != std::string::npos);
  tl.run([&] { r.reset(); });
}

TEST_CASE("destroying or reusing a resolver suppresses the pending callback") {
  TestLoop tl;
  std::atomic<int> calls{0};
  tl.run([&] {
    auto r = std::make_unique<core::Resolver>(tl.loop());
    r->resolve("no-such-host.invalid", 80, [&](auto) { calls++; });
    r.reset();  // lookup in flight: dropped
    auto lit = std::make_unique<core::Resolver>(tl.loop());
    lit->resolve("127.0.0.1", 80, [&](auto) { calls++; });
    lit.reset();  // literal answer pending on a timer: dropped
  });
  std::unique_ptr<core::Resolver> r;
  Outcome out;
  tl.run([&] {
    r = std::make_unique<core::Resolver>(tl.loop());
    r->resolve("no-such-host.invalid", 80, [&](auto) { calls++; });
    // A new lookup replaces the first: only the second calls back.
    r->resolve("127.0.0.1", 81, [&](core::Result<core::Resolver::Addresses> res) {
      out.ok = res.is_ok();
      out.done = true;
    });
  });
  REQUIRE(wait_until([&] { return out.done.load(); }));
  CHECK(out.ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(calls == 0);
  tl.run([&] { r.reset(); });
}
