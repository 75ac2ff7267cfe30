#include "core/worker_pool.h"

#include <pthread.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace weir::core {

namespace worker_detail {

struct StrandState {
  explicit StrandState(size_t max) : max_queued(max) {}
  const size_t max_queued;
  const std::shared_ptr<CancelState> cancel = std::make_shared<CancelState>();
  std::deque<Job> jobs;    // guarded by PoolCore::mu
  bool scheduled = false;  // guarded by PoolCore::mu: a turn is queued or a job is running
  std::atomic<uint64_t> refused{0};
};

// A pool queue entry: a plain job, or one turn of a strand (runs its next job).
struct Entry {
  Job job;
  std::shared_ptr<StrandState> strand;
};

// The queue and counters, shared by the pool, its threads, Tokens and Strands
// so that any of them may be the last to go.
struct PoolCore : std::enable_shared_from_this<PoolCore> {
  PoolCore(size_t max, std::string n) : max_queued(max), name(std::move(n)) {}

  const size_t max_queued;
  const std::string name;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Entry> queue;  // guarded by mu; at most one entry per strand
  bool stopping = false;    // guarded by mu
  bool draining = false;    // guarded by mu

  // Gauges change under mu; all are read without it.
  std::atomic<uint64_t> queued{0};
  std::atomic<uint64_t> running{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> discarded{0};
  std::atomic<uint64_t> done_refused{0};

  // Caller holds mu.
  bool accepting(const Job& job) const {
    return !stopping && queued.load(std::memory_order_relaxed) < max_queued &&
           !(job.cancel && job.cancel->cancelled.load(std::memory_order_acquire));
  }

  bool enqueue(Job job) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!accepting(job)) {
        refused.fetch_add(1, std::memory_order_relaxed);
        return false;  // `job` is destroyed after the lock is released
      }
      queue.push_back(Entry{std::move(job), nullptr});
      queued.fetch_add(1, std::memory_order_relaxed);
    }
    cv.notify_one();
    return true;
  }

  bool enqueue(const std::shared_ptr<StrandState>& s, Job job) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!accepting(job) || s->jobs.size() >= s->max_queued) {
        refused.fetch_add(1, std::memory_order_relaxed);
        s->refused.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      s->jobs.push_back(std::move(job));
      queued.fetch_add(1, std::memory_order_relaxed);
      if (!s->scheduled) {
        s->scheduled = true;
        queue.push_back(Entry{Job{}, s});
        wake = true;
      }
    }
    if (wake) cv.notify_one();
    return true;
  }

  // Takes the plain jobs of a cancelled token out of the queue; the caller
  // destroys them outside the lock.
  std::vector<Job> purge(const CancelState* c) {
    std::vector<Job> out;
    std::lock_guard<std::mutex> lk(mu);
    for (auto it = queue.begin(); it != queue.end();) {
      if (!it->strand && it->job.cancel.get() == c) {
        out.push_back(std::move(it->job));
        it = queue.erase(it);
      } else {
        ++it;
      }
    }
    queued.fetch_sub(out.size(), std::memory_order_relaxed);
    dropped.fetch_add(out.size(), std::memory_order_relaxed);
    return out;
  }

  std::deque<Job> drop_strand_jobs(StrandState& s) {
    std::deque<Job> out;
    std::lock_guard<std::mutex> lk(mu);
    s.cancel->cancelled.store(true, std::memory_order_release);
    out.swap(s.jobs);
    queued.fetch_sub(out.size(), std::memory_order_relaxed);
    dropped.fetch_add(out.size(), std::memory_order_relaxed);
    return out;
  }

  // After the threads are joined: everything still queued.
  std::vector<Job> take_all() {
    std::vector<Job> out;
    std::lock_guard<std::mutex> lk(mu);
    for (Entry& e : queue) {
      if (e.strand) {
        for (Job& j : e.strand->jobs) out.push_back(std::move(j));
        e.strand->jobs.clear();
        e.strand->scheduled = false;
      } else {
        out.push_back(std::move(e.job));
      }
    }
    queue.clear();
    queued.fetch_sub(out.size(), std::memory_order_relaxed);
    dropped.fetch_add(out.size(), std::memory_order_relaxed);
    return out;
  }

  void deliver(const Job& job, Job::Outcome out) {
    if (!out.deliver) return;
    if (job.cancel && job.cancel->cancelled.load(std::memory_order_acquire)) {
      discarded.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::weak_ptr<PoolCore> weak = weak_from_this();
    bool posted = job.owner->post([cancel = job.cancel, deliver = std::move(out.deliver), weak] {
      if (cancel && cancel->cancelled.load(std::memory_order_acquire)) {
        if (auto core = weak.lock()) core->discarded.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      deliver();
    });
    if (!posted) {
      uint64_t n = done_refused.fetch_add(1, std::memory_order_relaxed) + 1;
      spdlog::warn("worker pool {}: loop {} refused a job's completion (stopping or full), dropped ({} so far)",
                   name, job.owner->index(), n);
    }
  }

  void run_thread() {
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stopping || !queue.empty(); });
      if (stopping && (!draining || queue.empty())) return;
      Entry e = std::move(queue.front());
      queue.pop_front();
      std::shared_ptr<StrandState> strand = std::move(e.strand);
      Job job;
      if (strand) {
        if (strand->jobs.empty()) {  // cancelled while its turn waited
          strand->scheduled = false;
          continue;
        }
        job = std::move(strand->jobs.front());
        strand->jobs.pop_front();
      } else {
        job = std::move(e.job);
      }
      queued.fetch_sub(1, std::memory_order_relaxed);
      bool cancelled = job.cancel && job.cancel->cancelled.load(std::memory_order_acquire);
      if (!cancelled) running.fetch_add(1, std::memory_order_relaxed);
      lk.unlock();
      if (cancelled) {
        dropped.fetch_add(1, std::memory_order_relaxed);
      } else {
        Job::Outcome out = job.run();
        // The gauge drops before the completion is posted: a `done` that reads
        // stats() never counts its own job as running.
        running.fetch_sub(1, std::memory_order_relaxed);
        completed.fetch_add(1, std::memory_order_relaxed);
        if (out.threw) failed.fetch_add(1, std::memory_order_relaxed);
        deliver(job, std::move(out));
      }
      job = Job{};  // the closures die here, outside the lock
      lk.lock();
      if (strand) {
        if (strand->jobs.empty()) {
          strand->scheduled = false;
        } else {
          queue.push_back(Entry{Job{}, std::move(strand)});  // to the back: strands share fairly
          cv.notify_one();
        }
      }
    }
  }
};

}  // namespace worker_detail

using worker_detail::Job;
using worker_detail::PoolCore;

// ---- Token ------------------------------------------------------------------

WorkerPool::Token& WorkerPool::Token::operator=(Token&& o) noexcept {
  if (this != &o) {
    cancel();
    core_ = std::move(o.core_);
    state_ = std::move(o.state_);
  }
  return *this;
}

void WorkerPool::Token::cancel() {
  if (!state_ || state_->cancelled.exchange(true, std::memory_order_acq_rel)) return;
  std::vector<Job> dropped = core_->purge(state_.get());
  // `dropped` is destroyed here, on the cancelling thread.
}

WorkerPool::Token WorkerPool::make_token() {
  Token t;
  t.core_ = core_;
  t.state_ = std::make_shared<worker_detail::CancelState>();
  return t;
}

// ---- Strand -----------------------------------------------------------------

WorkerPool::Strand::Strand(WorkerPool& pool, size_t max_queued)
    : core_(pool.core_), state_(std::make_shared<worker_detail::StrandState>(std::max<size_t>(max_queued, 1))) {}

bool WorkerPool::Strand::enqueue(Job job) { return core_->enqueue(state_, std::move(job)); }

std::shared_ptr<worker_detail::CancelState> WorkerPool::Strand::state_cancel() const { return state_->cancel; }

void WorkerPool::Strand::cancel() {
  std::deque<Job> dropped = core_->drop_strand_jobs(*state_);
  // `dropped` is destroyed here, on the cancelling thread.
}

size_t WorkerPool::Strand::queued() const {
  std::lock_guard<std::mutex> lk(core_->mu);
  return state_->jobs.size();
}

uint64_t WorkerPool::Strand::refused() const { return state_->refused.load(std::memory_order_relaxed); }

// ---- WorkerPool ---------------------------------------------------------------

WorkerPool::WorkerPool(int threads, size_t max_queued, std::string name)
    : core_(std::make_shared<PoolCore>(std::max<size_t>(max_queued, 1), name)) {
  threads = std::max(threads, 1);
  for (int i = 0; i < threads; ++i) {
    std::string thread_name = fmt::format("{}-{}", name, i);
    if (thread_name.size() > 15) thread_name = thread_name.substr(thread_name.size() - 15);
    threads_.emplace_back([core = core_, thread_name] {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      core->run_thread();
    });
  }
}

WorkerPool::~WorkerPool() { stop(StopMode::kDrop); }

bool WorkerPool::enqueue(Job job) { return core_->enqueue(std::move(job)); }

void WorkerPool::stop(StopMode mode) {
  std::lock_guard<std::mutex> g(stop_mu_);
  {
    std::lock_guard<std::mutex> lk(core_->mu);
    if (!core_->stopping) {
      core_->stopping = true;
      core_->draining = mode == StopMode::kDrain;
    }
  }
  core_->cv.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  std::vector<Job> dropped = core_->take_all();
  if (!dropped.empty()) spdlog::info("worker pool {}: stopped, {} queued jobs dropped", core_->name, dropped.size());
}

WorkerPool::Stats WorkerPool::stats() const {
  Stats s;
  s.queued = core_->queued.load(std::memory_order_relaxed);
  s.running = core_->running.load(std::memory_order_relaxed);
  s.completed = core_->completed.load(std::memory_order_relaxed);
  s.failed = core_->failed.load(std::memory_order_relaxed);
  s.refused = core_->refused.load(std::memory_order_relaxed);
  s.dropped = core_->dropped.load(std::memory_order_relaxed);
  s.discarded = core_->discarded.load(std::memory_order_relaxed);
  s.done_refused = core_->done_refused.load(std::memory_order_relaxed);
  return s;
}

}  // namespace weir::core
