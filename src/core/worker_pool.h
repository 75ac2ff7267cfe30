// WorkerPool: a fixed set of threads for work that must never run on an event
// loop (FFmpeg encode/decode, SQLite, file merges, fsync). A job's `work` runs
// on a pool thread and returns a value (Status or Result<T>); its `done` is
// posted back with Loop::post and always runs on the owner loop's thread.
//
// Threads: submit(), Strand::submit(), Token::cancel() and stats() may be
// called from any thread (a job may submit more); stop() from any thread but
// a pool thread (it joins them). `work` runs on a pool thread, `done` on the
// owner loop's thread. A `work` that throws is caught: `done` receives an
// error Status "worker job threw: ...". `done` itself must not throw (it runs
// inside a libuv callback).
//
// Bounds and overflow actions (every one counted in Stats):
//  - Pool queue: at most `max_queued` jobs waiting (plain and strand jobs
//    together). Overflow action: **refuse** - submit returns false, nothing is
//    queued, nothing runs, `refused` counts it. The caller decides what a
//    refusal means (drop a frame, fail a request).
//  - Strand queue: its own `max_queued` on top of the pool's, same action.
//  - Loop::post refusing a `done` (the owner loop is stopping or its task
//    queue is full): the `done` is dropped, counted in `done_refused` and
//    logged; it is destroyed on the pool thread.
//
// Ordering: plain jobs start in submit order but run concurrently. The jobs
// of one Strand never run concurrently and run in submit order; their `done`s
// reach one owner loop in that order too (Loop::post is FIFO).
//
// Cancellation: a Token (or a Strand) covers the jobs submitted with it. After
// cancel() - or its destruction - queued jobs are dropped (their closures are
// destroyed on the cancelling thread), a running job finishes but its `done`
// is discarded. "No done runs after cancel()" holds when cancel() is called on
// the owner loop's thread (the usual case: a session closing); from another
// thread a `done` may be running at that moment.
//
// Lifetime: the owner Loop must outlive its jobs' `done` delivery (loops live
// until the process exits, see loop.h). Tokens and Strands may outlive the
// pool (they share its queue state); once the pool is stopped they refuse.
// Closures may hold move-only captures (they are kept behind shared_ptrs).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/loop.h"
#include "core/status.h"

namespace weir::core {

namespace worker_detail {

struct CancelState {
  std::atomic<bool> cancelled{false};
};

// One queued unit of work, type-erased. `run` does the work on a pool thread
// and returns the closure that calls `done` with the result (empty if there
// is no `done`); `threw` reports a caught exception.
struct Job {
  struct Outcome {
    std::function<void()> deliver;
    bool threw = false;
  };
  Loop* owner = nullptr;
  std::shared_ptr<CancelState> cancel;  // null: not cancellable
  std::function<Outcome()> run;
};

struct StrandState;
struct PoolCore;

template <class R>
inline constexpr bool kIsResult = false;
template <class T>
inline constexpr bool kIsResult<Result<T>> = true;

}  // namespace worker_detail

class WorkerPool {
 public:
  struct Stats {
    uint64_t queued = 0;        // jobs waiting (gauge)
    uint64_t running = 0;       // jobs whose work is running (gauge)
    uint64_t completed = 0;     // works that returned (or threw)
    uint64_t failed = 0;        // works that threw (also in completed)
    uint64_t refused = 0;       // submits refused: cap, strand cap, cancelled, stopped
    uint64_t dropped = 0;       // queued jobs dropped unrun (cancel, strand gone, stop)
    uint64_t discarded = 0;     // dones not run because their owner cancelled
    uint64_t done_refused = 0;  // dones the owner loop refused (Loop::post false)
  };

  // What stop() does with jobs that have not started.
  enum class StopMode { kDrop, kDrain };

  // Cancellation handle for plain jobs. Move-only; destroying it cancels.
  class Token {
   public:
    Token() = default;  // empty: cancel() does nothing
    ~Token() { cancel(); }
    Token(Token&&) noexcept = default;
    Token& operator=(Token&& o) noexcept;
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;

    // See the file comment. Idempotent.
    void cancel();
    bool cancelled() const { return state_ && state_->cancelled.load(std::memory_order_acquire); }

   private:
    friend class WorkerPool;
    std::shared_ptr<worker_detail::PoolCore> core_;
    std::shared_ptr<worker_detail::CancelState> state_;
  };

  // Serial queue: jobs run one at a time, in submit order, on any pool thread.
  // Destroying the Strand cancels it. Not movable (jobs refer to its state).
  class Strand {
   public:
    // `max_queued` (>= 1) jobs may wait in this strand.
    Strand(WorkerPool& pool, size_t max_queued);
    ~Strand() { cancel(); }
    Strand(const Strand&) = delete;
    Strand& operator=(const Strand&) = delete;

    template <class Work, class Done>
    bool submit(Loop& owner, Work work, Done done) {
      return enqueue(make_job(owner, std::move(work), std::move(done), state_cancel()));
    }
    // See the file comment. Later submits are refused. Idempotent.
    void cancel();
    size_t queued() const;
    uint64_t refused() const;

   private:
    bool enqueue(worker_detail::Job job);
    std::shared_ptr<worker_detail::CancelState> state_cancel() const;
    std::shared_ptr<worker_detail::PoolCore> core_;
    std::shared_ptr<worker_detail::StrandState> state_;
  };

  // `threads` >= 1 threads named "<name>-<i>" (cut to 15 characters, the
  // kernel's limit); `max_queued` >= 1.
  WorkerPool(int threads, size_t max_queued, std::string name = "weir-work");
  ~WorkerPool();  // stop(StopMode::kDrop)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `work()` on a pool thread, then `done(result)` on `owner`'s thread.
  // `work` returns Status or Result<T>; `done` takes that type (or is nullptr).
  // False when refused (see the file comment); then neither runs.
  template <class Work, class Done>
  bool submit(Loop& owner, Work work, Done done) {
    return enqueue(make_job(owner, std::move(work), std::move(done), nullptr));
  }
  // The same, cancellable through `token` (from make_token() of this pool).
  template <class Work, class Done>
  bool submit(Loop& owner, const Token& token, Work work, Done done) {
    return enqueue(make_job(owner, std::move(work), std::move(done), token.state_));
  }
  Token make_token();

  // kDrop: queued jobs are dropped (counted), running ones finish and their
  // dones are still posted. kDrain: every queued job runs first. Then the
  // threads are joined; later submits are refused. Safe to call twice; a
  // second call with kDrain after kDrop drains nothing.
  void stop(StopMode mode = StopMode::kDrop);

  Stats stats() const;
  size_t thread_count() const { return threads_.size(); }

 private:
  template <class Work, class Done>
  static worker_detail::Job make_job(Loop& owner, Work work, Done done,
                                     std::shared_ptr<worker_detail::CancelState> cancel);
  bool enqueue(worker_detail::Job job);

  std::shared_ptr<worker_detail::PoolCore> core_;
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;  // serialises stop()
};

template <class Work, class Done>
worker_detail::Job WorkerPool::make_job(Loop& owner, Work work, Done done,
                                        std::shared_ptr<worker_detail::CancelState> cancel) {
  using R = std::invoke_result_t<Work&>;
  using D = std::decay_t<Done>;
  static_assert(std::is_same_v<R, Status> || worker_detail::kIsResult<R>,
                "WorkerPool: work must return core::Status or core::Result<T>");
  constexpr bool kHasDone = !std::is_same_v<D, std::nullptr_t>;
  if constexpr (kHasDone) {
    static_assert(std::is_invocable_v<D&, R&&>, "WorkerPool: done must accept what work returns");
  }
  auto w = std::make_shared<Work>(std::move(work));
  std::shared_ptr<D> d;
  if constexpr (kHasDone) {
    bool present = true;
    if constexpr (std::is_constructible_v<bool, D&>) present = bool(done);  // std::function, pointers
    if (present) d = std::make_shared<D>(std::move(done));
  }
  worker_detail::Job job;
  job.owner = &owner;
  job.cancel = std::move(cancel);
  job.run = [w, d]() -> worker_detail::Job::Outcome {
    worker_detail::Job::Outcome out;
    auto result = std::make_shared<std::optional<R>>();
    try {
      result->emplace((*w)());
    } catch (const std::exception& e) {
      result->emplace(Status::errorf("worker job threw: {}", e.what()));
      out.threw = true;
    } catch (...) {
      result->emplace(Status::error("worker job threw a non-standard exception"));
      out.threw = true;
    }
    if constexpr (kHasDone) {
      if (d) out.deliver = [d, result] { (*d)(std::move(**result)); };
    }
    return out;
  };
  return job;
}

}  // namespace weir::core
