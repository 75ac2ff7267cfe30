// Reloader: SIGHUP and POST /api/v1/reload. Re-reads the config file (with
// the same WEIR_* overrides as at start) and applies it whole, or refuses it
// whole and keeps the running one. docs/reload.md lists what each key does
// on reload; in short:
// - apps.* (settings, secrets, callbacks, access rules, recording), api
//   tokens, rtmp timeouts and sizes, limits.max_connections_per_ip,
//   log.level and shutdown.*: apply to what starts after the reload (a stream
//   keeps the app settings it was published under; a viewer already playing
//   is not re-checked).
// - *.listen, api.tls, http.* and limits.max_connections: the listener is
//   restarted (ListenerSet); connections open stay.
// - tls.cert_file / tls.key_file: the certificate is re-read on every
//   reload, for connections accepted after it.
// - events.url / secret and apps.*.events: main() hands the new receivers to
//   the EventSender from the reload's observer.
// - Keys read once at start (kRestartOnly below): the running value is kept
//   and the answer lists the key under "restart_required".
//
// Threads: reload() and serve_requests() on the main thread only (they
// block: file reads, binding, waiting for the loops). request() on any loop:
// it queues the caller (at most kMaxWaiting; more are refused, and the
// caller answers 429) and wakes the main thread with SIGHUP, which main()
// sigwait()s for and answers with serve_requests(). Each waiting caller gets
// the outcome back on its own loop.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/loop.h"
#include "server/listener_set.h"

namespace weir::origin {
class Origin;
}

namespace weir::server {

struct ReloadOutcome {
  bool ok = false;
  bool stopping = false;                      // not run: the server is shutting down
  uint64_t generation = 0;                    // the config generation running after it
  std::vector<std::string> changed;           // key paths that differ from the running config
  std::vector<std::string> restart_required;  // of those, the ones kept until a restart
  std::vector<std::string> restarted;         // listeners restarted ("rtmp", "api", ...)
  std::vector<std::string> warnings;          // a loop that kept an old listener, ...
  std::map<std::string, std::string> listeners;  // "rtmp" -> "127.0.0.1:1935" (on ones only)
  std::string error;                          // !ok: why, naming the key
  std::string field;                          // !ok: the first key named, if any
  nlohmann::json to_json() const;
};

class Reloader {
 public:
  static constexpr size_t kMaxWaiting = 16;
  // Keys read once at start; a reload keeps their running values.
  static const std::vector<std::string> kRestartOnly;
  // Copies the kRestartOnly keys of `running` into `next` (a unit test keeps
  // the two in step).
  static void keep_restart_only(core::Config& next, const core::Config& running);

  // Main thread. `env` is the process environment (WEIR_* overrides).
  Reloader(std::string path, char** env, origin::Origin& origin, ListenerSet& listeners);

  // Told after every reload (ok or not), on the main thread.
  void set_observer(std::function<void(const ReloadOutcome&)> f) { observer_ = std::move(f); }

  // Main thread: one reload now. `why`: "SIGHUP", "api".
  ReloadOutcome reload(const std::string& why);

  using Done = std::function<void(const ReloadOutcome&)>;
  // Any loop: queue a reload whose outcome `done` gets on `loop`. False when
  // kMaxWaiting callers wait already or the server is stopping.
  bool request(core::Loop& loop, Done done);
  // Main thread: runs one reload for everyone waiting, if anyone is; false
  // when nobody was (the SIGHUP came from outside).
  bool serve_requests();
  // Main thread, at shutdown: answers everyone waiting with `why`, refuses
  // later requests.
  void close(const std::string& why);

 private:
  struct Waiting {
    core::Loop* loop;
    Done done;
  };
  void answer(std::vector<Waiting> waiting, const ReloadOutcome& o);
  // Main thread: every loop has run a task posted now (up to a timeout).
  bool barrier();

  const std::string path_;
  char** const env_;
  origin::Origin& origin_;
  ListenerSet& listeners_;
  const pthread_t main_thread_;
  std::function<void(const ReloadOutcome&)> observer_;
  std::mutex mu_;
  std::vector<Waiting> waiting_;  // guarded by mu_; at most kMaxWaiting
  bool closed_ = false;           // guarded by mu_
};

}  // namespace weir::server
