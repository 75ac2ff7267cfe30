#include "core/loop.h"

#include <sched.h>

#include <condition_variable>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace weir::core {

namespace {
thread_local Loop* t_current = nullptr;
}

Loop::Loop(int index) : index_(index) {
  int rc = uv_loop_init(&loop_);
  if (rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  uv_async_init(&loop_, &async_, &Loop::on_async);
  async_.data = this;
}

Loop::~Loop() {
  if (thread_.joinable()) thread_.join();
  // A loop that ran closed every handle before its thread returned. One that
  // never ran (tests, a failed start) still has its wake-up handle: close it
  // and let the close callback run, so uv_loop_close can free the loop.
  auto* a = reinterpret_cast<uv_handle_t*>(&async_);
  if (!uv_is_closing(a)) uv_close(a, nullptr);
  uv_walk(&loop_, [](uv_handle_t* h, void*) {
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }, nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

Loop* Loop::current() { return t_current; }

bool Loop::post(Task task) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_.load(std::memory_order_relaxed) || tasks_.size() >= kMaxQueuedTasks) {
      tasks_refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  uv_async_send(&async_);
  return true;
}

void Loop::on_async(uv_async_t* h) { static_cast<Loop*>(h->data)->drain_tasks(); }

void Loop::drain_tasks() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    draining_.swap(tasks_);
  }
  for (auto& t : draining_) t();
  draining_.clear();
  if (stopping_.load(std::memory_order_acquire)) shutdown_on_loop();
}

void Loop::track(Closable* c) {
  if (c->tracked_) return;
  c->tracked_ = true;
  c->prev_ = nullptr;
  c->next_ = tracked_head_;
  if (tracked_head_) tracked_head_->prev_ = c;
  tracked_head_ = c;
  ++tracked_count_;
}

void Loop::untrack(Closable* c) {
  if (!c->tracked_) return;
  c->tracked_ = false;
  if (c->prev_) c->prev_->next_ = c->next_;
  else tracked_head_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->prev_ = c->next_ = nullptr;
  --tracked_count_;
}

void Loop::request_stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_.store(true, std::memory_order_release);
  }
  uv_async_send(&async_);
}

void Loop::shutdown_on_loop() {
  // Close everything still tracked; each object unlinks itself (now or from its
  // close callback), so always take the head.
  size_t guard = tracked_count_ + 1;
  while (tracked_head_ && guard-- > 0) {
    Closable* c = tracked_head_;
    untrack(c);
    c->close_for_shutdown();
  }
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&async_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  // Anything else left open (timers owned by modules) is closed here so
  // uv_run can return; owners must not free handle memory before their own
  // close callback, which uv_walk's close honours.
  uv_walk(&loop_, [](uv_handle_t* h, void*) {
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }, nullptr);
}

void Loop::run_thread(std::function<void(Loop&)> on_start) {
  thread_id_ = std::this_thread::get_id();
  t_current = this;
  running_.store(true, std::memory_order_release);
  on_start(*this);
  uv_run(&loop_, UV_RUN_DEFAULT);
  running_.store(false, std::memory_order_release);
  // Drop tasks that arrived after the loop shut down (their captures are freed here).
  std::lock_guard<std::mutex> lk(mu_);
  tasks_.clear();
}

LoopGroup::LoopGroup(int count) {
  if (count < 1) count = 1;
  for (int i = 0; i < count; ++i) loops_.push_back(std::make_unique<Loop>(i));
}

LoopGroup::~LoopGroup() { stop(); }

void LoopGroup::start(std::function<void(Loop&)> on_start) {
  std::mutex m;
  std::condition_variable cv;
  size_t ready = 0;
  for (auto& l : loops_) {
    Loop* loop = l.get();
    loop->thread_ = std::thread([&, loop] {
      loop->run_thread([&](Loop& lp) {
        on_start(lp);
        std::lock_guard<std::mutex> lk(m);
        ++ready;
        cv.notify_all();
      });
    });
  }
  std::unique_lock<std::mutex> lk(m);
  cv.wait(lk, [&] { return ready == loops_.size(); });
  started_ = true;
}

void LoopGroup::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& l : loops_) l->request_stop();
  for (auto& l : loops_)
    if (l->thread_.joinable()) l->thread_.join();
}

Loop& LoopGroup::next() { return *loops_[rr_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]; }

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

}  // namespace weir::core
