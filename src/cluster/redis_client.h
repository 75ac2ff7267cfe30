// RedisClient: one connection to a Redis server on one loop, through
// hiredis 0.14's async API and its libuv adapter (hiredis/adapters/libuv.h):
// no call here blocks the loop. The host name is resolved by core::Resolver
// (libuv's threadpool); hiredis is handed a numeric address only.
//
// States: idle -> resolving -> connecting [-> authenticating] -> up. With a
// password, AUTH ([username] password) is the first command of every
// connection and nothing else is sent before its OK; a refused AUTH is a
// failure like the others. Any failure (resolve, connect, AUTH, lost
// connection, a deadline missed) -> backoff (0.25 s doubling to
// 8 s, cluster/discovery_keys.h) -> resolving again. Commands are pipelined on
// the one connection; those issued while resolving or connecting wait for it.
//
// Deadlines: hiredis 0.14 has no timeout for async commands. The connect and
// every command must be answered within `timeout_ms` of being issued: one
// Timer is armed for the oldest waiting command (replies come in order).
// When it fires, Redis counts as unavailable: every waiting command fails,
// the connection is dropped and a reconnect is scheduled.
//
// Bounds: at most `max_queued` commands waiting (sent or not). Overflow
// action: the new command is refused at once (its `done` gets an error;
// counted in refused). While down (backoff) commands are refused at once too,
// so no caller ever waits for a Redis known to be unavailable.
//
// Thread: everything on its loop, except stats() (atomics, any thread).
// `done` runs exactly once on the loop, possibly inside command() (refusals).
// Lifetime: a Closable tracked by its loop from start() to close(): the
// loop's shutdown closes it (waiting commands fail). Destroy it on its loop,
// or after the loop stopped.
//
// Workaround: hiredis 0.14's libuv adapter ignores a poll callback with an
// error status (redisLibuvPoll returns on status != 0; hiredis 1.0 fixed
// it), and libuv reports POLLERR that way and stops the poll. So a refused
// connect or a reset connection is noticed by our deadlines, not at once: a
// Redis that refuses costs up to timeout_ms per connect attempt (lookups made
// meanwhile wait that long at most), then the client backs off.
//
// hiredis ownership rules this follows (0.14 async.c): hiredis frees the
// context itself after a failed connect (onConnect(REDIS_ERR), no
// onDisconnect) and after a lost connection (onDisconnect); we free it
// (redisAsyncFree) only outside onConnect, where hiredis still uses it after
// the callback returns; inside a reply callback the free is deferred by
// hiredis. A context we let go has data = nullptr, so its last callbacks
// (NULL replies, onDisconnect) are ignored.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/log_limiter.h"
#include "core/resolver.h"
#include "core/status.h"
#include "core/timer.h"

struct redisAsyncContext;

namespace weir::cluster {

struct RedisReply {
  enum class Type { kNil, kString, kInteger, kStatus, kArray };
  Type type = Type::kNil;
  std::string str;      // kString, kStatus
  int64_t integer = 0;  // kInteger; kArray: the number of elements
};

struct RedisStats {
  std::atomic<bool> up{false};
  std::atomic<uint64_t> commands{0};     // sent to Redis
  std::atomic<uint64_t> errors{0};       // failed: error reply, deadline, connection lost
  std::atomic<uint64_t> refused{0};      // not sent: queue full, or Redis down
  std::atomic<uint64_t> disconnects{0};  // connections lost or never made (each schedules a reconnect)
  std::atomic<uint64_t> waiting{0};      // commands waiting now
};

class RedisClient final : public core::Closable {
 public:
  using Done = std::function<void(core::Result<RedisReply>)>;
  struct Options {
    std::string host;  // a name or a numeric address
    uint16_t port = 6379;
    uint64_t timeout_ms = 500;  // also bounds connect + AUTH
    size_t max_queued = 10000;
    std::string username;       // Redis 6 ACL user; "" = AUTH password alone
    std::string password;       // "" = no AUTH
  };

  RedisClient(core::Loop& loop, Options o);
  ~RedisClient() override;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Loop thread: starts connecting.
  void start();
  // Loop thread: sends `argv` (binary-safe arguments). An error reply from
  // Redis is an error Result ("Redis: ERR ...").
  void command(std::vector<std::string> argv, Done done);
  // Loop thread: fails what waits ("closed: `why`") and disconnects for good.
  void close(const std::string& why);
  bool up() const { return state_ == State::kUp; }
  const RedisStats& stats() const { return stats_; }
  std::string address() const { return opts_.host + ":" + std::to_string(opts_.port); }

 private:
  enum class State { kIdle, kResolving, kConnecting, kAuthenticating, kUp, kBackoff, kClosed };
  struct Pending {
    uint64_t id = 0;
    uint64_t deadline_ms = 0;        // the loop's clock (uv_now)
    std::vector<std::string> argv;   // until sent
    bool sent = false;
    Done done;
  };

  void close_for_shutdown() override { close("the server is shutting down"); }
  void connect();
  void resolved(core::Result<core::Resolver::Addresses> r);
  void connected();
  void send_auth();
  void authenticated();
  void flush();
  bool send(Pending& p);
  void replied(uint64_t id, const void* reply);
  void drop(const std::string& why);
  void release_connection();  // timers, lookup and hiredis context (if any)
  void fail_all(const std::string& why);
  void arm_deadline();
  void on_deadline();
  uint64_t now_ms() const;

  static void on_connect(const redisAsyncContext* c, int status);
  static void on_disconnect(const redisAsyncContext* c, int status);
  static void on_reply(redisAsyncContext* c, void* reply, void* privdata);
  static void on_auth_reply(redisAsyncContext* c, void* reply, void* privdata);

  core::Loop& loop_;
  const Options opts_;
  State state_ = State::kIdle;
  redisAsyncContext* ctx_ = nullptr;
  core::Resolver resolver_;
  core::Timer connect_timer_;  // the connect's deadline
  core::Timer deadline_;       // the oldest waiting command's deadline
  core::Timer later_;          // sends what waited for the connection, outside onConnect
  core::Timer backoff_;
  uint32_t failures_ = 0;      // consecutive failed connections, for the backoff
  uint64_t next_id_ = 1;
  std::deque<Pending> pending_;
  std::string last_error_ = "not connected yet";
  core::LogLimiter log_limit_{10000};
  RedisStats stats_;
};

}  // namespace weir::cluster
