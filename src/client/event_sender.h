// EventSender: delivers events (../shared/API.md "Events", webhooks) to the
// configured receivers: `POST url` with
//   {"id": "...", "type": "asset.ready", "time": "2026-...Z", "data": {...}}
// and `Weir-Signature: t=UNIX,v1=HEX`, v1 = HMAC-SHA256(secret, t + "." + body),
// so a receiver can verify the sender and refuse replays; the event id lets
// it drop duplicates (delivery is at least once).
//
// Every receiver has its own queue and sends one event at a time, in order.
// A 2xx answer delivers the event; anything else (an error status, a
// timeout, a refused connection) retries it with exponential backoff
// (backoff_ms doubling up to max_backoff_ms) up to max_attempts, after which
// it is dropped (counted, logged). A dead receiver never blocks a loop and
// never delays the others.
//
// Bounds: at most max_queued events wait per receiver. Overflow action: DROP
// THE OLDEST waiting event (counted in Stats::dropped, logged once per
// burst): the newest state matters most to a receiver that was away.
//
// Thread: emit() and stats() from any thread; everything else runs on the
// loop given at construction (emit posts to it). Lifetime: create on the main
// thread before the loops start, destroy after they stop.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/log_limiter.h"
#include "core/config.h"
#include "core/loop.h"

namespace weir::core {
class TlsContext;
}

namespace weir::client {

class HttpClient;

// The receivers a config asks for: events.url (every event, events.secret)
// and each app's events.url (that app's events; its secret, else events.secret).
std::vector<struct EventReceiver> event_receivers(const core::Config& config);

struct EventReceiver {
  std::string url;
  std::string secret;  // empty: no signature header
  std::string app;     // empty: every event; else only the events of this config app key
  bool operator==(const EventReceiver&) const = default;
};

class EventSender {
 public:
  struct Options {
    size_t max_queued = 1000;
    int max_attempts = 10;
    uint64_t backoff_ms = 500;
    uint64_t max_backoff_ms = 60000;
    uint64_t timeout_ms = 10000;
    // Client context for https:// receivers (null: they fail).
    std::shared_ptr<const core::TlsContext> tls;
  };
  struct Stats {
    std::atomic<uint64_t> emitted{0};
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> retries{0};
    std::atomic<uint64_t> failed{0};   // dropped after max_attempts
    std::atomic<uint64_t> dropped{0};  // queue overflow
  };

  EventSender(core::Loop& loop, std::vector<EventReceiver> receivers, Options options);
  ~EventSender();
  EventSender(const EventSender&) = delete;
  EventSender& operator=(const EventSender&) = delete;

  // Any thread. `data_json` is the event's data object, as JSON text; `app`
  // the config app key the event belongs to ("" for process events): it goes
  // to the receivers of every event and to that app's.
  void emit(std::string type, std::string data_json, std::string app = {});
  bool enabled() const { return active_.load(std::memory_order_relaxed) > 0; }
  // Any thread (a reload): the receivers from now on. A receiver listed
  // before and now keeps its queue and its event in flight; one no longer
  // listed drops its waiting events (counted in Stats::dropped) and stops
  // after the event in flight. Removed receivers stay allocated, idle, and
  // are reused if listed again: bounded by the distinct receivers ever set.
  void set_receivers(std::vector<EventReceiver> receivers);
  const Stats& stats() const { return stats_; }

  // The signature header value for `body` at `unix_s` (tests, receivers' docs).
  static std::string signature(const std::string& secret, int64_t unix_s, const std::string& body);

 private:
  struct Receiver;
  void enqueue(const std::string& body, const std::string& app);  // loop thread
  void pump(Receiver& r);                  // loop thread

  void apply_receivers(const std::vector<EventReceiver>& receivers);  // loop thread

  core::Loop& loop_;
  Options opt_;
  std::vector<std::unique_ptr<Receiver>> receivers_;  // loop thread after construction
  std::atomic<size_t> active_{0};                     // receivers not retired
  Stats stats_;
  // One line per burst of events the loop refused (at shutdown every client
  // that disconnects emits one).
  std::mutex refused_log_mu_;
  core::LogLimiter refused_log_;
};

}  // namespace weir::client
