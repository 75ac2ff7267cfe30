// SnapshotFlight<V>: single flight plus a short cache, by key. Of many
// requests for the same thing (a stream's decoded picture, its JPEG at one
// width), the first leads: it makes the value and calls finish(); the others
// wait for that outcome; requests within the cache window after it get the
// outcome at once. So a burst of requests costs one decode.
//
//   Outcome cached;
//   switch (flight.join(key, now_ms, waiter, &cached)) {
//     case Join::kCached:   answer(cached); break;             // waiter dropped
//     case Join::kLead:     start_work(key); break;             // waiter registered; work calls finish()
//     case Join::kWait:     break;                              // waiter registered
//     case Join::kOverflow: answer_503(); break;                // waiter dropped
//   }
//   flight.finish(key, outcome, now_ms + cache_ms);              // calls every waiter
//
// Failures are outcomes too (an HTTP status and a message) and are cached the
// same way, so a stream that cannot be decoded costs one attempt per window,
// not one per request.
//
// Bounds and overflow actions (counted in Stats):
//  - waiters per key: at most max_waiters; overflow: join() answers kOverflow
//    and drops the waiter (the caller answers 503).
//  - keys: at most max_keys entries (in flight or cached); when full, expired
//    entries are dropped first; still full: kOverflow.
// Expired entries are swept at most once a second by join(), so a cached value
// is freed within a second of its expiry once requests come in (or replaced
// by the next lead of its key).
//
// Thread: any; one mutex, held only to update the table, never while a waiter
// runs. finish() calls the waiters on its own thread, in join order: a waiter
// that must run elsewhere (an HTTP exchange's loop) posts itself there.
// Every kLead must be followed by exactly one finish() for that key (or the
// key's waiters wait for ever: the caller's work always ends in finish()).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace weir::transcode {

template <class V>
class SnapshotFlight {
 public:
  struct Outcome {
    std::shared_ptr<const V> value;  // set on success
    int status = 500;                // on failure: the HTTP status to answer
    std::string error;               // on failure: one line for the client and the log
    bool ok() const { return value != nullptr; }
    static Outcome success(std::shared_ptr<const V> v) { return Outcome{std::move(v), 200, {}}; }
    static Outcome failure(int status, std::string why) { return Outcome{nullptr, status, std::move(why)}; }
  };
  using Waiter = std::function<void(const Outcome&)>;
  enum class Join { kCached, kLead, kWait, kOverflow };
  struct Limits {
    size_t max_waiters = 1000;
    size_t max_keys = 4096;
  };
  struct Stats {
    uint64_t hits = 0;      // answered from the cache
    uint64_t leads = 0;     // flights started
    uint64_t joined = 0;    // waited for a flight under way
    uint64_t overflow = 0;  // refused (max_waiters, max_keys)
  };

  explicit SnapshotFlight(Limits limits) : limits_(limits) {}

  Join join(const std::string& key, int64_t now_ms, Waiter waiter, Outcome* cached) {
    std::lock_guard<std::mutex> lk(mu_);
    if (now_ms >= next_sweep_ms_) sweep_locked(now_ms);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      Entry& e = it->second;
      if (e.in_flight) {
        if (e.waiters.size() >= limits_.max_waiters) {
          ++stats_.overflow;
          return Join::kOverflow;
        }
        e.waiters.push_back(std::move(waiter));
        ++stats_.joined;
        return Join::kWait;
      }
      if (now_ms < e.expires_ms) {
        if (cached) *cached = e.outcome;
        ++stats_.hits;
        return Join::kCached;
      }
    } else {
      if (entries_.size() >= limits_.max_keys) sweep_locked(now_ms);
      if (entries_.size() >= limits_.max_keys) {
        ++stats_.overflow;
        return Join::kOverflow;
      }
      it = entries_.emplace(key, Entry{}).first;
    }
    Entry& e = it->second;
    e.in_flight = true;
    e.outcome = Outcome{};
    e.waiters.push_back(std::move(waiter));
    ++stats_.leads;
    return Join::kLead;
  }

  // Ends the flight of `key`: the outcome is kept until `expires_ms` (not at
  // all if that is not after now) and every waiter is called with it. A key
  // with no flight under way is ignored.
  void finish(const std::string& key, Outcome outcome, int64_t expires_ms) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = entries_.find(key);
      if (it == entries_.end() || !it->second.in_flight) return;
      Entry& e = it->second;
      waiters.swap(e.waiters);
      e.in_flight = false;
      e.outcome = outcome;
      e.expires_ms = expires_ms;
    }
    for (auto& w : waiters)
      if (w) w(outcome);
  }

  Stats stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
  }
  // Entries held (in flight or cached, expired ones not yet swept).
  size_t size() const {
    std::lock_guard<std::mutex> lk(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    bool in_flight = false;
    std::vector<Waiter> waiters;
    Outcome outcome;
    int64_t expires_ms = 0;
  };

  void sweep_locked(int64_t now_ms) {
    next_sweep_ms_ = now_ms + 1000;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!it->second.in_flight && now_ms >= it->second.expires_ms) it = entries_.erase(it);
      else ++it;
    }
  }

  const Limits limits_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  int64_t next_sweep_ms_ = 0;
  Stats stats_;
};

}  // namespace weir::transcode
