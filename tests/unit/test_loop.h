// A one-loop LoopGroup for tests that drive loop objects (connectors,
// clients) from the test thread: run() executes a function on the loop
// thread and waits for it; wait_until() polls a condition.
//
// Objects that belong to the loop must be created and destroyed inside run().
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "core/loop.h"

namespace weir::test {

class TestLoop {
 public:
  TestLoop() {
    group_.start([](core::Loop&) {});
  }
  ~TestLoop() { group_.stop(); }
  core::Loop& loop() { return group_.at(0); }

  // Runs fn on the loop thread and returns once it has run.
  template <class F>
  void run(F&& fn) {
    std::promise<void> done;
    REQUIRE(loop().post([&] {
      fn();
      done.set_value();
    }));
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  }

 private:
  core::LoopGroup group_{1};
};

// Polls pred every 2 ms for up to ms; returns its last value.
template <class Pred>
bool wait_until(Pred pred, int ms = 5000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace weir::test
