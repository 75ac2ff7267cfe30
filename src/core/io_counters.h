// IoCounters: the bytes one connection has read and written, readable from
// any thread (the admin API lists them while the connection runs).
//
// Thread: one writer, the connection's loop thread; any reader. The writer
// updates with a relaxed load + store (no read-modify-write instruction: a
// plain add and move on the hot path); readers see a recent value, never a
// torn one.
#pragma once

#include <atomic>
#include <cstdint>

namespace weir::core {

class IoCounters {
 public:
  // Writer thread only.
  void add_in(uint64_t n) { in_.store(in_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void add_out(uint64_t n) { out_.store(out_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  // Any thread.
  uint64_t in() const { return in_.load(std::memory_order_relaxed); }
  uint64_t out() const { return out_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> in_{0}, out_{0};
};

}  // namespace weir::core
