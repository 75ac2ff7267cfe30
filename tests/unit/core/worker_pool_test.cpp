// WorkerPool on real threads and real loops. Catch2 is not thread-safe: what
// pool threads and loop threads see is recorded in atomics or in containers
// touched by one thread at a time, and checked on the test thread.
#include <catch2/catch.hpp>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/loop.h"
#include "core/worker_pool.h"

using namespace weir::core;
using Pool = WorkerPool;

namespace {

bool wait_until(const std::function<bool()>& pred, int ms = 5000) {
  for (int i = 0; i < ms / 2; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

std::string thread_name() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof(buf));
  return buf;
}

// A job that holds a pool thread until released.
struct Gate {
  std::atomic<bool> entered{false};
  std::atomic<bool> open{false};
  Status hold() {
    entered = true;
    while (!open) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status::ok();
  }
};

// Calls stop(mode) on another thread and returns once the pool refuses work,
// i.e. stop() has begun (submits that got in before that are counted).
std::thread stop_async(Pool& pool, Loop& owner, Pool::StopMode mode, int& probes_accepted) {
  std::thread t([&pool, mode] { pool.stop(mode); });
  probes_accepted = 0;
  while (pool.submit(owner, [] { return Status::ok(); }, nullptr)) {
    ++probes_accepted;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return t;
}

}  // namespace

TEST_CASE("worker pool: work runs on named pool threads, results arrive on the owner loop") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  Loop& loop = group.at(0);
  Pool pool(2, 64, "weir-work");
  CHECK(pool.thread_count() == 2);
  constexpr int kJobs = 40;
  std::vector<std::string> work_threads(kJobs);
  std::vector<int> results(kJobs, -1);  // written on the loop thread only
  std::atomic<int> done_count{0};
  std::atomic<int> off_loop{0};
  for (int i = 0; i < kJobs; ++i) {
    bool ok = pool.submit(
        loop,
        [i, &work_threads]() -> Result<int> {
          work_threads[size_t(i)] = thread_name();
          return i * i;
        },
        [i, &results, &done_count, &off_loop, &loop](Result<int> r) {
          if (Loop::current() != &loop || !loop.on_loop_thread()) off_loop++;
          results[size_t(i)] = r.is_ok() ? r.value() : -2;
          done_count++;
        });
    REQUIRE(ok);
  }
  REQUIRE(wait_until([&] { return done_count == kJobs; }));
  CHECK(off_loop == 0);
  for (int i = 0; i < kJobs; ++i) {
    CHECK(results[size_t(i)] == i * i);
    CHECK((work_threads[size_t(i)] == "weir-work-0" || work_threads[size_t(i)] == "weir-work-1"));
  }
  Pool::Stats s = pool.stats();
  CHECK(s.completed == kJobs);
  CHECK(s.queued == 0);
  CHECK(s.running == 0);
  CHECK(s.refused == 0);
  group.stop();
}

TEST_CASE("worker pool: a strand runs one job at a time, in submit order, beside other work") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  Loop& loop = group.at(0);
  Pool pool(3, 10000);
  constexpr int kJobs = 600;
  struct Lane {
    std::atomic<int> in_flight{0};
    std::atomic<int> overlaps{0};
    std::vector<int> work_order;  // touched only by the strand's current job
    std::vector<int> done_order;  // loop thread only
  };
  Lane lanes[2];
  auto strand_a = std::make_unique<Pool::Strand>(pool, kJobs);
  auto strand_b = std::make_unique<Pool::Strand>(pool, kJobs);
  Pool::Strand* strands[2] = {strand_a.get(), strand_b.get()};
  std::atomic<int> dones{0};
  std::atomic<int> plain_max{0}, plain_now{0};
  for (int i = 0; i < kJobs; ++i) {
    for (int k = 0; k < 2; ++k) {
      Lane& lane = lanes[k];
      bool ok = strands[k]->submit(
          loop,
          [&lane, i]() -> Status {
            if (lane.in_flight.fetch_add(1) != 0) lane.overlaps++;
            lane.work_order.push_back(i);
            if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
            lane.in_flight.fetch_sub(1);
            return Status::ok();
          },
          [&lane, &dones, i](Status) {
            lane.done_order.push_back(i);
            dones++;
          });
      REQUIRE(ok);
    }
    // Plain jobs in between keep the other threads busy, so strand jobs land
    // on different threads.
    if (i % 20 == 0) {
      REQUIRE(pool.submit(loop,
                          [&]() -> Status {
                            int now = plain_now.fetch_add(1) + 1;
                            int prev = plain_max.load();
                            while (now > prev && !plain_max.compare_exchange_weak(prev, now)) {
                            }
                            std::this_thread::sleep_for(std::chrono::milliseconds(2));
                            plain_now.fetch_sub(1);
                            return Status::ok();
                          },
                          nullptr));
    }
  }
  REQUIRE(wait_until([&] { return dones == 2 * kJobs; }, 20000));
  for (Lane& lane : lanes) {
    CHECK(lane.overlaps == 0);
    REQUIRE(lane.work_order.size() == size_t(kJobs));
    REQUIRE(lane.done_order.size() == size_t(kJobs));
    bool in_order = true;
    for (int i = 0; i < kJobs; ++i) {
      in_order &= lane.work_order[size_t(i)] == i && lane.done_order[size_t(i)] == i;
    }
    CHECK(in_order);
  }
  CHECK(plain_max >= 1);
  CHECK(strand_a->queued() == 0);
  group.stop();
}

TEST_CASE("worker pool: the pool cap and a strand's cap refuse, and refusals are counted") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  Loop& loop = group.at(0);
  Pool pool(1, 4);
  Gate gate;
  std::atomic<int> done{0};
  auto count = [&](Status) { done++; };
  REQUIRE(pool.submit(loop, [&] { return gate.hold(); }, count));
  REQUIRE(wait_until([&] { return gate.entered.load(); }));  // running, not queued
  Pool::Strand strand(pool, 1);
  CHECK(pool.submit(loop, [] { return Status::ok(); }, count));
  CHECK(pool.submit(loop, [] { return Status::ok(); }, count));
  CHECK(strand.submit(loop, [] { return Status::ok(); }, count));
  CHECK_FALSE(strand.submit(loop, [] { return Status::ok(); }, count));  // strand full (1)
  CHECK(strand.refused() == 1);
  CHECK(pool.submit(loop, [] { return Status::ok(); }, count));           // pool at 4
  bool ran_refused = false;
  CHECK_FALSE(pool.submit(loop, [&] { ran_refused = true; return Status::ok(); }, count));
  Pool::Stats s = pool.stats();
  CHECK(s.queued == 4);
  CHECK(s.running == 1);
  CHECK(s.refused == 2);
  gate.open = true;
  REQUIRE(wait_until([&] { return done == 5; }));
  CHECK_FALSE(ran_refused);
  s = pool.stats();
  CHECK(s.completed == 5);
  CHECK(s.queued == 0);
  // Room again once the queue drained.
  CHECK(strand.submit(loop, [] { return Status::ok(); }, count));
  REQUIRE(wait_until([&] { return done == 6; }));
  group.stop();
}

TEST_CASE("worker pool: cancel drops queued jobs and discards a running job's done") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  Loop& loop = group.at(0);
  Pool pool(1, 64);
  Gate gate;
  std::atomic<int> works_run{0}, dones_run{0};
  std::atomic<bool> released{false};
  uint64_t expect_completed = 0;

  SECTION("token") {
    auto token = std::make_unique<Pool::Token>(pool.make_token());
    REQUIRE(pool.submit(loop, *token, [&] { return gate.hold(); }, [&](Status) { dones_run++; }));
    REQUIRE(wait_until([&] { return gate.entered.load(); }));
    for (int i = 0; i < 3; ++i) {
      REQUIRE(pool.submit(loop, *token, [&]() -> Result<int> { works_run++; return 1; },
                          [&](Result<int>) { dones_run++; }));
    }
    CHECK(pool.stats().queued == 3);
    // Cancel on the owner loop's thread, as a closing session would.
    REQUIRE(loop.post([&] {
      token->cancel();
      released = true;
    }));
    REQUIRE(wait_until([&] { return released.load(); }));
    CHECK(token->cancelled());
    CHECK(pool.stats().queued == 0);
    CHECK(pool.stats().dropped == 3);
    CHECK_FALSE(pool.submit(loop, *token, [] { return Status::ok(); }, nullptr));
    gate.open = true;
    REQUIRE(wait_until([&] { return pool.stats().discarded == 1; }));
    // Other work still flows.
    std::atomic<bool> other{false};
    REQUIRE(pool.submit(loop, [] { return Status::ok(); }, [&](Status) { other = true; }));
    REQUIRE(wait_until([&] { return other.load(); }));
    expect_completed = 3;  // the held job, "other", the flush below
  }
  SECTION("strand destruction") {
    auto strand = std::make_unique<Pool::Strand>(pool, 16);
    REQUIRE(strand->submit(loop, [&] { return gate.hold(); }, [&](Status) { dones_run++; }));
    REQUIRE(wait_until([&] { return gate.entered.load(); }));
    for (int i = 0; i < 3; ++i) {
      REQUIRE(strand->submit(loop, [&]() -> Status { works_run++; return Status::ok(); },
                             [&](Status) { dones_run++; }));
    }
    REQUIRE(loop.post([&] {
      strand.reset();
      released = true;
    }));
    REQUIRE(wait_until([&] { return released.load(); }));
    CHECK(pool.stats().dropped == 3);
    gate.open = true;
    REQUIRE(wait_until([&] { return pool.stats().discarded == 1; }));
    expect_completed = 2;  // the held job, the flush below
  }
  // Let any stray done reach the loop before judging.
  std::atomic<bool> flushed{false};
  REQUIRE(pool.submit(loop, [] { return Status::ok(); }, [&](Status) { flushed = true; }));
  REQUIRE(wait_until([&] { return flushed.load(); }));
  CHECK(works_run == 0);
  CHECK(dones_run == 0);
  CHECK(pool.stats().completed == expect_completed);
  group.stop();
}

TEST_CASE("worker pool: stop drops or drains queued jobs, and is safe twice") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  Loop& loop = group.at(0);
  Gate gate;
  std::atomic<int> ran{0}, dones{0};
  auto pool = std::make_unique<Pool>(1, 100000);  // the probes below must not meet the cap
  REQUIRE(pool->submit(loop, [&] { return gate.hold(); }, [&](Status) { dones++; }));
  REQUIRE(wait_until([&] { return gate.entered.load(); }));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(pool->submit(loop, [&] { ran++; return Status::ok(); }, [&](Status) { dones++; }));
  }
  int probes = 0;
  SECTION("drop") {
    std::thread t = stop_async(*pool, loop, Pool::StopMode::kDrop, probes);
    gate.open = true;
    t.join();
    Pool::Stats s = pool->stats();
    CHECK(ran == 0);
    CHECK(s.completed == 1);
    CHECK(s.dropped == uint64_t(5 + probes));
    CHECK(s.queued == 0);
    REQUIRE(wait_until([&] { return dones == 1; }));  // the running job's done still arrives
  }
  SECTION("drain") {
    std::thread t = stop_async(*pool, loop, Pool::StopMode::kDrain, probes);
    gate.open = true;
    t.join();
    Pool::Stats s = pool->stats();
    CHECK(ran == 5);
    CHECK(s.completed == uint64_t(6 + probes));
    CHECK(s.dropped == 0);
    REQUIRE(wait_until([&] { return dones == 6; }));
  }
  CHECK(pool->thread_count() == 0);
  CHECK(pool->stats().refused >= 1);
  pool->stop();  // twice
  CHECK_FALSE(pool->submit(loop, [] { return Status::ok(); }, nullptr));
  // Tokens and strands may outlive the pool: they refuse, cancel is harmless.
  Pool::Token token = pool->make_token();
  auto strand = std::make_unique<Pool::Strand>(*pool, 4);
  pool.reset();
  CHECK_FALSE(strand->submit(loop, [] { return Status::ok(); }, nullptr));
  token.cancel();
  strand.reset();
  group.stop();
}

TEST_CASE("worker pool: a job that throws reports an error; a refused done is counted") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  Loop& loop = group.at(0);
  Pool pool(2, 16);
  std::string message;  // loop thread
  std::atomic<bool> got{false};
  REQUIRE(pool.submit(
      loop, []() -> Result<std::unique_ptr<int>> { throw std::runtime_error("boom"); },
      [&](Result<std::unique_ptr<int>> r) {
        message = r.is_ok() ? "ok" : r.error();
        got = true;
      }));
  REQUIRE(wait_until([&] { return got.load(); }));
  CHECK(message == "worker job threw: boom");
  CHECK(pool.stats().failed == 1);

  // Move-only results travel to the owner.
  int value = 0;
  got = false;
  REQUIRE(pool.submit(
      loop, []() -> Result<std::unique_ptr<int>> { return std::make_unique<int>(7); },
      [&](Result<std::unique_ptr<int>> r) {
        value = r.is_ok() ? *r.value() : -1;
        got = true;
      }));
  REQUIRE(wait_until([&] { return got.load(); }));
  CHECK(value == 7);

  // An owner loop that has stopped refuses the done: dropped, counted, no crash.
  group.stop();
  std::atomic<bool> done_ran{false};
  REQUIRE(pool.submit(loop, [] { return Status::ok(); }, [&](Status) { done_ran = true; }));
  REQUIRE(wait_until([&] { return pool.stats().done_refused == 1; }));
  CHECK_FALSE(done_ran);
}
