// Timer: a one-shot or repeating libuv timer owned by one object on one loop.
// The uv handle lives on the heap and is freed by its own close callback, so
// the owner may be destroyed right after stop() or its destructor. The handle
// is tracked by the loop: when the loop shuts down it closes the handle with
// that callback (instead of leaving it to the loop's final sweep, which would
// leak it) and the Timer forgets it.
//
// Thread: its loop only. The callback never runs after stop(), destruction or
// the loop's shutdown.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "core/loop.h"

namespace weir::core {

class Timer {
 public:
  explicit Timer(Loop& loop) : loop_(loop) {}
  ~Timer() { release(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)starts: runs `cb` after `ms`, then every `repeat_ms` if non-zero.
  void start(uint64_t ms, std::function<void()> cb, uint64_t repeat_ms = 0);
  void stop();
  bool active() const;

 private:
  struct Handle final : Closable {
    uv_timer_t timer;
    std::function<void()> cb;
    Timer* owner = nullptr;
    void close_for_shutdown() override;
    void close();
  };
  void release();
  Loop& loop_;
  Handle* h_ = nullptr;
};

}  // namespace weir::core
