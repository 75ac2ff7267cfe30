// MemoryBudget: a process-wide cap on bytes held for one purpose (RTMP
// message reassembly across every session, say), shared by every loop.
// try_reserve() refuses what would pass the cap; the named overflow action
// belongs to the caller (the RTMP session whose message would pass it is
// closed) and every refusal is counted.
//
// Thread: any; lock-free. Invariant: used() <= cap() at every moment a
// reservation succeeds; release() exactly what was reserved.
#pragma once

#include <atomic>
#include <cstdint>

namespace weir::core {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t cap) : cap_(cap) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Reserves `n` bytes, or refuses (and counts the refusal) if that would
  // pass the cap. A cap of 0 means no cap.
  bool try_reserve(uint64_t n) {
    uint64_t cur = used_.load(std::memory_order_relaxed);
    do {
      if (cap_ && cur + n > cap_) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return true;
  }
  void release(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t cap() const { return cap_; }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  const uint64_t cap_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace weir::core
