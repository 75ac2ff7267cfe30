// ConnectionsPerIp: how many connections each client address holds open
// across every loop and listener (limits.max_connections_per_ip). One per
// process (the origin owns it); RTMP and HTTP listeners take a slot at
// accept, SRT when libsrt hands over an admitted connection.
//
// A Slot is the connection's share: moved into the connection and released
// when it is destroyed (TcpConn: its close callback; SRT: when the bridge
// closes the socket). try_acquire refuses when the address already holds
// `cap` slots; a refused connection is closed at once by its listener.
//
// Bounds: the map holds one entry per address with at least one slot open
// (an entry is erased when its count drops to zero), so it never outgrows the
// open connections themselves (limits.max_connections). IPv4-mapped IPv6
// addresses count as their IPv4 address (core/cidr.h).
//
// Lifetime: outlives every Slot (the origin outlives the loops and the SRT
// server, which close their connections first).
//
// Threads: every method on any thread (one mutex; taken once at accept and
// once at close, never per packet).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/cidr.h"
#include "core/log_limiter.h"

namespace weir::core {

class ConnectionsPerIp {
 public:
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept : owner_(o.owner_), key_(std::move(o.key_)) { o.owner_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept;
    ~Slot() { release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    void release();
    bool held() const { return owner_ != nullptr; }

   private:
    friend class ConnectionsPerIp;
    ConnectionsPerIp* owner_ = nullptr;
    std::string key_;
  };

  // `cap` connections per address; 0 = no cap (try_acquire always succeeds
  // and keeps no count).
  explicit ConnectionsPerIp(int64_t cap) : cap_(cap) {}
  ConnectionsPerIp(const ConnectionsPerIp&) = delete;
  ConnectionsPerIp& operator=(const ConnectionsPerIp&) = delete;

  int64_t cap() const { return cap_.load(std::memory_order_relaxed); }
  // Any thread (a reload): the cap for connections from now on. Connections
  // accepted while the cap was 0 were not counted and stay uncounted.
  void set_cap(int64_t cap) { cap_.store(cap, std::memory_order_relaxed); }
  // A slot for a connection from `peer` ("IP:PORT", "[V6]:PORT" or a bare
  // address); nullopt when the address is at the cap (counted in refused()).
  // A peer whose address does not parse is counted under its text.
  std::optional<Slot> try_acquire(std::string_view peer);
  // Would a connection from `peer` be refused now? (SRT asks in its
  // handshake, then acquires at accept.)
  bool at_cap(std::string_view peer);
  // Connections open from `peer`'s address; addresses tracked now.
  int64_t count(std::string_view peer);
  size_t addresses();
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // Counts a refusal made outside try_acquire (SRT's handshake).
  void count_refusal() { refused_.fetch_add(1, std::memory_order_relaxed); }
  // Rate limit for the refusal log line: the number of refusals since the
  // last line that got through (this one included), or nullopt to stay quiet.
  std::optional<uint64_t> log_allowed(int64_t now_ms);

 private:
  static std::string key_of(std::string_view peer);
  void release(const std::string& key);

  std::atomic<int64_t> cap_;
  std::atomic<uint64_t> refused_{0};
  std::mutex mu_;
  std::unordered_map<std::string, int64_t> open_;  // guarded by mu_; no zero entries
  LogLimiter log_limiter_;                          // guarded by mu_
};

}  // namespace weir::core
