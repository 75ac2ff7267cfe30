#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/loop.h"

using namespace weir::core;

TEST_CASE("tasks posted from another thread run on the loop, in order") {
  LoopGroup group(2);
  std::atomic<int> started{0};
  group.start([&](Loop&) { started++; });
  CHECK(started == 2);
  std::vector<int> seen;
  std::atomic<bool> done{false};
  std::atomic<bool> right_thread{true};
  Loop& l = group.at(1);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(l.post([&, i] {
      if (Loop::current() != &l || !l.on_loop_thread()) right_thread = false;
      seen.push_back(i);
      if (i == 99) done = true;
    }));
  }
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(done);
  CHECK(right_thread);
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(seen[size_t(i)] == i);
  group.stop();
  // A stopped loop refuses work instead of queueing it forever.
  CHECK_FALSE(l.post([] {}));
  CHECK(l.tasks_refused() >= 1);
}

namespace {
struct Probe : Closable {
  bool* closed;
  explicit Probe(bool* c) : closed(c) {}
  void close_for_shutdown() override { *closed = true; }
};
}  // namespace

TEST_CASE("stop closes every tracked object on its loop") {
  LoopGroup group(1);
  bool a = false, b = false;
  Probe pa(&a), pb(&b);
  group.start([&](Loop& l) {
    l.track(&pa);
    l.track(&pb);
  });
  group.stop();
  CHECK(a);
  CHECK(b);
}
