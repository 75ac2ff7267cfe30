// ConfigStore: the generations of a running server's config. A reload (main
// thread) installs a new generation; readers on any thread see the current
// one. What each part of the server takes from a reload is in docs/reload.md.
//
// Lifetime and threads:
// - current() hands out shared ownership (any thread). Whatever keeps a
//   generation's settings beyond the call that read them (a stream keeps its
//   app's settings for its whole life) holds that pointer.
// - get() returns a reference to the current generation without taking
//   ownership (cheap: one atomic load). It is valid until the caller returns
//   to its event loop: install() keeps the generation it replaces in
//   `retired_`, and release_retired() frees a retired generation only after
//   the caller (Reloader) has seen every loop pass a barrier posted after the
//   swap, and only when nobody else holds it (use_count() == 1).
// - The first generation is pinned for the life of the store: the settings
//   read once at start (workers, storage, srt, events) come from it.
// Bounds: retired generations are those still held by a live stream; each
// is a few KB.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/config.h"

namespace weir::core {

class ConfigStore {
 public:
  explicit ConfigStore(Config first);

  // Any thread.
  std::shared_ptr<const Config> current() const;
  const Config& get() const { return *raw_.load(std::memory_order_acquire); }
  const Config& first() const { return *first_; }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Main thread (the reloader): `next` becomes current; the one it replaces
  // is retired. Returns the new generation number.
  uint64_t install(std::shared_ptr<const Config> next);
  // Main thread, after every loop has passed a barrier posted after the last
  // install(): frees retired generations nobody holds; returns how many are
  // still retired (held by live streams).
  size_t release_retired();

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Config> first_;
  std::shared_ptr<const Config> current_;             // guarded by mu_
  std::vector<std::shared_ptr<const Config>> retired_;  // guarded by mu_
  std::atomic<const Config*> raw_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace weir::core
