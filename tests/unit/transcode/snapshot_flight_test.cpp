// SnapshotFlight: one lead per key and window, waiters called once with the
// lead's outcome, the cache window, failures cached too, the bounds, and a
// burst from many threads costing exactly one piece of work.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "transcode/snapshot_flight.h"

using weir::transcode::SnapshotFlight;
using Flight = SnapshotFlight<int>;
using Join = Flight::Join;

TEST_CASE("snapshot flight: the first joins lead, the rest wait, finish answers all in join order") {
  Flight f({10, 100});
  std::vector<int> seen;
  auto waiter = [&](int id) { return [&seen, id](const Flight::Outcome& o) { seen.push_back(id * 1000 + *o.value); }; };
  CHECK(f.join("a", 0, waiter(1), nullptr) == Join::kLead);
  CHECK(f.join("a", 5, waiter(2), nullptr) == Join::kWait);
  CHECK(f.join("a", 6, waiter(3), nullptr) == Join::kWait);
  CHECK(f.join("b", 6, waiter(9), nullptr) == Join::kLead);  // another key: its own flight
  CHECK(seen.empty());
  f.finish("a", Flight::Outcome::success(std::make_shared<int>(7)), 1000);
  CHECK(seen == std::vector<int>{1007, 2007, 3007});
  auto st = f.stats();
  CHECK(st.leads == 2);
  CHECK(st.joined == 2);
  CHECK(st.hits == 0);
}

TEST_CASE("snapshot flight: cached until expiry, then a new lead") {
  Flight f({10, 100});
  int calls = 0;
  auto w = [&](const Flight::Outcome&) { ++calls; };
  REQUIRE(f.join("k", 0, w, nullptr) == Join::kLead);
  f.finish("k", Flight::Outcome::success(std::make_shared<int>(1)), 1000);
  Flight::Outcome got;
  CHECK(f.join("k", 999, w, &got) == Join::kCached);
  REQUIRE(got.ok());
  CHECK(*got.value == 1);
  CHECK(calls == 1);  // a cached answer does not call the waiter
  CHECK(f.join("k", 1000, w, &got) == Join::kLead);  // expired exactly at expires_ms
  f.finish("k", Flight::Outcome::success(std::make_shared<int>(2)), 500);  // already past: not kept
  CHECK(f.join("k", 1001, w, &got) == Join::kLead);
  CHECK(f.stats().hits == 1);
}

TEST_CASE("snapshot flight: failures are outcomes, cached for their window") {
  Flight f({10, 100});
  Flight::Outcome seen;
  REQUIRE(f.join("k", 0, [&](const Flight::Outcome& o) { seen = o; }, nullptr) == Join::kLead);
  f.finish("k", Flight::Outcome::failure(404, "audio only"), 100);
  CHECK_FALSE(seen.ok());
  CHECK(seen.status == 404);
  CHECK(seen.error == "audio only");
  Flight::Outcome got;
  CHECK(f.join("k", 50, nullptr, &got) == Join::kCached);
  CHECK(got.status == 404);
}

TEST_CASE("snapshot flight: max_waiters and max_keys overflow; finish of an unknown key is ignored") {
  Flight f({2, 2});
  auto w = [](const Flight::Outcome&) {};
  REQUIRE(f.join("a", 0, w, nullptr) == Join::kLead);
  REQUIRE(f.join("a", 0, w, nullptr) == Join::kWait);
  CHECK(f.join("a", 0, w, nullptr) == Join::kOverflow);  // lead + 1 waiter = 2
  REQUIRE(f.join("b", 0, w, nullptr) == Join::kLead);
  CHECK(f.join("c", 0, w, nullptr) == Join::kOverflow);  // two keys in flight
  f.finish("zzz", Flight::Outcome::failure(500, "x"), 10);  // no such flight
  f.finish("b", Flight::Outcome::success(std::make_shared<int>(1)), 10);
  CHECK(f.join("c", 5, w, nullptr) == Join::kOverflow);  // b still cached
  CHECK(f.join("c", 10, w, nullptr) == Join::kLead);     // b expired: swept to make room
  CHECK(f.stats().overflow == 3);
  CHECK(f.size() == 2);
}

TEST_CASE("snapshot flight: 200 concurrent joins from 8 threads -> one lead, 200 answers") {
  Flight f({1000, 100});
  std::atomic<int> leads{0}, answered{0}, cached{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 25; ++i) {
        Flight::Outcome got;
        Join j = f.join("stream", 0, [&](const Flight::Outcome& o) { answered += *o.value; }, &got);
        if (j == Join::kLead) {
          ++leads;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the "decode"
          f.finish("stream", Flight::Outcome::success(std::make_shared<int>(1)), 1000);
        } else if (j == Join::kCached) {
          cached += *got.value;
        }
      }
    });
  go = true;
  for (auto& t : threads) t.join();
  CHECK(leads == 1);
  CHECK(answered + cached == 200);
  auto st = f.stats();
  CHECK(st.leads == 1);
  CHECK(st.joined + st.hits + st.leads == 200);
}
