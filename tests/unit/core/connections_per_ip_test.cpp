// ConnectionsPerIp (limits.max_connections_per_ip): the cap per address,
// IPv4-mapped addresses counted as IPv4, slots released on destruction and
// move, entries gone at zero, and many threads taking and releasing at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "core/connections_per_ip.h"

using namespace weir::core;

TEST_CASE("a cap of 0 keeps no count and refuses nothing") {
  ConnectionsPerIp per_ip(0);
  std::vector<ConnectionsPerIp::Slot> held;
  for (int i = 0; i < 100; ++i) {
    auto s = per_ip.try_acquire("10.0.0.1:1234");
    REQUIRE(s);
    held.push_back(std::move(*s));
  }
  CHECK(per_ip.addresses() == 0);
  CHECK_FALSE(per_ip.at_cap("10.0.0.1:1"));
  CHECK(per_ip.refused() == 0);
}

TEST_CASE("the cap holds per address, whatever the port, and frees with the slot") {
  ConnectionsPerIp per_ip(3);
  std::vector<ConnectionsPerIp::Slot> held;
  for (int port = 1; port <= 3; ++port) {
    auto s = per_ip.try_acquire("192.0.2.1:" + std::to_string(port));
    REQUIRE(s);
    held.push_back(std::move(*s));
  }
  CHECK(per_ip.at_cap("192.0.2.1:9"));
  CHECK_FALSE(per_ip.try_acquire("192.0.2.1:4"));
  CHECK_FALSE(per_ip.try_acquire("[::ffff:192.0.2.1]:5"));  // the same address, mapped
  CHECK(per_ip.refused() == 2);
  auto other = per_ip.try_acquire("192.0.2.2:1");  // another address has its own count
  CHECK(other);
  auto v6 = per_ip.try_acquire("[2001:db8::1]:443");
  CHECK(v6);
  CHECK(per_ip.count("2001:db8::1") == 1);  // a bare IPv6 address (no port)
  CHECK(per_ip.count("192.0.2.1:0") == 3);
  held.pop_back();  // one closes
  CHECK(per_ip.count("192.0.2.1") == 2);
  auto again = per_ip.try_acquire("192.0.2.1:7");
  CHECK(again);
  CHECK(per_ip.addresses() == 3);
  held.clear();
  again.reset();
  other.reset();
  v6.reset();
  CHECK(per_ip.addresses() == 0);  // no entries at zero
}

TEST_CASE("a moved slot is released once") {
  ConnectionsPerIp per_ip(1);
  auto s = per_ip.try_acquire("10.0.0.1:1");
  REQUIRE(s);
  ConnectionsPerIp::Slot moved = std::move(*s);
  CHECK_FALSE(s->held());
  CHECK(moved.held());
  s.reset();
  CHECK(per_ip.count("10.0.0.1") == 1);
  ConnectionsPerIp::Slot target;
  target = std::move(moved);
  CHECK(per_ip.count("10.0.0.1") == 1);
  target.release();
  target.release();
  CHECK(per_ip.count("10.0.0.1") == 0);
  CHECK(per_ip.addresses() == 0);
}

TEST_CASE("threads taking and releasing slots never pass the cap and leave nothing behind") {
  constexpr int kCap = 4, kThreads = 8, kRounds = 20000;
  ConnectionsPerIp per_ip(kCap);
  std::atomic<int> inside{0}, most{0}, granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string peer = (i % 2 ? "10.0.0.1:" : "[::ffff:10.0.0.1]:") + std::to_string(t);
        auto s = per_ip.try_acquire(i % 3 == 0 ? "10.0.0." + std::to_string(2 + t) + ":1" : peer);
        if (!s) continue;
        granted++;
        if (i % 3 != 0) {
          int now = ++inside;
          int m = most.load();
          while (now > m && !most.compare_exchange_weak(m, now)) {}
          --inside;
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(most.load() <= kCap);
  CHECK(granted.load() + int(per_ip.refused()) == kThreads * kRounds);
  CHECK(per_ip.addresses() == 0);
}

TEST_CASE("the refusal log line is rate-limited") {
  ConnectionsPerIp per_ip(1);
  CHECK(per_ip.log_allowed(1000) == 1u);
  CHECK_FALSE(per_ip.log_allowed(1001));
  CHECK_FALSE(per_ip.log_allowed(2000));
  CHECK(per_ip.log_allowed(7000) == 3u);
}
