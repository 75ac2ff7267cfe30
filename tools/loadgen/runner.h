// Runner: the players of one event loop.
//
// The main thread builds one Runner per loop, each with the global indices of
// the players it owns (round-robin) and the common start time; start() runs on
// the loop's thread and opens players as the ramp reaches them. At the end of
// the run, LoopGroup::stop() calls close_for_shutdown() on the loop thread,
// which closes every connection; the loop then ends once all handles are
// closed.
//
// Threads: everything but bytes() runs on the loop thread. The main thread
// reads stats()/latency() only after the loop thread has been joined.
// Ownership: the Runner owns its players and their stats; players are freed
// with the Runner (after the loop has stopped, so no callback can reach them).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/loop.h"
#include "core/timer.h"
#include "loadgen/options.h"
#include "loadgen/stats.h"

namespace weir::loadgen {

class Player;

// Monotonic clock in µs (uv_hrtime), shared by every thread.
int64_t mono_us();

class Runner final : public core::Closable {
 public:
  Runner(const Options& options, int64_t t0_us, std::vector<uint32_t> player_ids);
  ~Runner() override;

  // Loop thread: arms the ramp and tick timers.
  void start(core::Loop& loop);
  void close_for_shutdown() override;

  core::Loop& loop() { return *loop_; }
  const Options& options() const { return options_; }
  LatencyHistogram& latency() { return latency_; }
  int64_t stall_us() const { return stall_us_; }
  int64_t warmup_us() const { return warmup_us_; }
  bool ending() const { return ending_; }

  // Loop thread: bytes read by this loop's players. Any thread: bytes().
  void add_bytes(size_t n) { bytes_.store(bytes_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  // After the loop has stopped.
  const std::vector<PlayerStats>& stats() const { return stats_; }
  int64_t end_us() const { return end_us_; }

 private:
  void on_ramp();
  void on_tick();

  Options options_;
  int64_t t0_us_;
  int64_t stall_us_;
  int64_t warmup_us_;
  std::vector<uint32_t> ids_;  // global player index, ascending
  size_t next_ = 0;            // next player to open
  core::Loop* loop_ = nullptr;
  std::unique_ptr<core::Timer> ramp_timer_;
  std::unique_ptr<core::Timer> tick_timer_;
  std::vector<PlayerStats> stats_;
  std::vector<std::unique_ptr<Player>> players_;
  LatencyHistogram latency_;
  std::atomic<uint64_t> bytes_{0};
  bool ending_ = false;
  int64_t end_us_ = -1;
};

}  // namespace weir::loadgen
