// Event loops: one libuv loop per worker thread, all in one process.
//
// Threads: a Loop's uv handles are touched only by its own thread. Other
// threads reach it only through post(), which is safe from any thread.
// Lifetime: LoopGroup owns the loops; they live until the process exits
// (stop() ends the threads but keeps the objects, so late posts are refused,
// not crashed on).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weir::core {

// Something that lives on one loop and must be closed when the loop stops
// (sessions, listeners). Registered with Loop::track while open.
class Closable {
 public:
  virtual ~Closable() = default;
  // Begins an orderly close; the object frees itself once its handles are closed.
  virtual void close_for_shutdown() = 0;

 private:
  friend class Loop;
  Closable* prev_ = nullptr;
  Closable* next_ = nullptr;
  bool tracked_ = false;
};

class Loop {
 public:
  using Task = std::function<void()>;
  // Hard cap on queued cross-thread tasks. Overflow action: post() refuses the
  // task and returns false; the caller owns the consequence (and logs it).
  static constexpr size_t kMaxQueuedTasks = 65536;

  Loop(int index);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  int index() const { return index_; }
  uv_loop_t* uv() { return &loop_; }
  bool on_loop_thread() const { return std::this_thread::get_id() == thread_id_; }
  bool running() const { return running_.load(std::memory_order_acquire); }
  // The loop whose thread is calling, or nullptr off-loop.
  static Loop* current();

  // Any thread. Runs `task` on this loop's thread, in post order.
  bool post(Task task);
  // Loop thread only.
  void track(Closable* c);
  void untrack(Closable* c);
  size_t tracked_count() const { return tracked_count_; }
  uint64_t tasks_refused() const { return tasks_refused_.load(std::memory_order_relaxed); }

 private:
  friend class LoopGroup;
  void run_thread(std::function<void(Loop&)> on_start);
  void request_stop();  // any thread
  static void on_async(uv_async_t* h);
  void drain_tasks();
  void shutdown_on_loop();

  int index_;
  uv_loop_t loop_{};
  uv_async_t async_{};
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::vector<Task> tasks_;  // guarded by mu_
  std::vector<Task> draining_;  // loop thread only
  std::atomic<uint64_t> tasks_refused_{0};

  Closable* tracked_head_ = nullptr;
  size_t tracked_count_ = 0;
};

class LoopGroup {
 public:
  explicit LoopGroup(int count);
  ~LoopGroup();

  size_t size() const { return loops_.size(); }
  Loop& at(size_t i) { return *loops_[i]; }
  // Starts one thread per loop; `on_start` runs first on each loop's thread
  // (listeners are opened there). Returns once every loop has run on_start.
  void start(std::function<void(Loop&)> on_start);
  // Any thread. Closes tracked objects on every loop and joins the threads.
  void stop();
  // Round-robin pick for work that may go to any loop.
  Loop& next();

 private:
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<uint32_t> rr_{0};
  bool started_ = false;
};

// Number of CPUs usable by this process.
int available_cores();

}  // namespace weir::core
