// ClientRegistry: every long-lived client connection in the process, for the
// admin API (GET/DELETE /api/v1/clients), the client.connected /
// client.disconnected events and weir_clients{protocol,role}.
//
// Who registers: RTMP publishers and players, SRT publishers and players,
// HTTP-FLV, WS-FLV and HTTP MPEG-TS players, once admitted (publishing or
// playing has started); they unregister when they stop (Handle::end, or the
// Handle's destruction). HLS requests are short and stateless: not clients.
// An RTMP connection that plays again after `deleteStream` registers again
// under a new id.
//
//   client_ = origin.clients().add(loop, {AccessProtocol::kRtmp, ClientRole::kPlay, app, stream, peer},
//                                  &conn->io(), [this](const std::string& why) { close(why); });
//   ...
//   client_.end("peer closed the connection");   // in the session's close()
//
// Threads and ownership:
//  - add() and every Handle method run on the client's loop thread (the
//    `loop` given to add()). The entry's `close` callback is only ever run on
//    that loop, by a task posted from close(); the task does nothing once the
//    handle has ended, and since both happen on that one thread, the callback
//    never reaches a freed session.
//  - `io` (bytes in and out) is read under the mutex by list()/find() from any
//    thread; it must stay valid until the handle ends (a TcpConn's counters
//    live until after its handler's on_closed; an SrtConn outlives its session).
//  - list(), find(), close(), counts() from any thread. The mutex is taken on
//    add, end, list, find and close only: never per packet.
//  - set_event_hook() on the main thread before the loops start; the hook
//    runs on the client's loop, with no lock held, and must be thread-safe.
// Bounds: one entry per open client connection, and those are bounded by the
// listeners' connection limits; ids are at most 32 characters.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io_counters.h"
#include "origin/admission.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

enum class ClientRole : uint8_t { kPublish, kPlay };
std::string_view client_role_name(ClientRole r);  // "publish", "play"

// One client as it is now (a copy; any thread may keep it).
struct ClientInfo {
  std::string id;  // opaque, [0-9a-f], 24 characters, increasing in registration order
  AccessProtocol protocol = AccessProtocol::kRtmp;
  ClientRole role = ClientRole::kPlay;
  std::string app, stream;
  std::string remote;            // "IP:PORT" ("[V6]:PORT")
  int64_t started_at_ms = 0;     // wall clock, when it registered
  int loop = 0;                  // index of its event loop
  uint64_t bytes_in = 0, bytes_out = 0;

  // The remote address without the port.
  std::string_view remote_ip() const;
};

// What client.connected / client.disconnected carry.
struct ClientEvent {
  ClientInfo client;
  bool connected = true;   // false: disconnected
  std::string reason;      // disconnected: why it ended
  int64_t duration_ms = 0; // disconnected: time registered
};

// List filters; an empty field matches everything. `ip` matches the remote
// address without its port.
struct ClientFilter {
  std::string app, stream, protocol, role, ip;
};

class ClientRegistry {
 public:
  using CloseFn = std::function<void(const std::string& why)>;
  using EventHook = std::function<void(const char* type, const ClientEvent& e)>;

  struct Registration {
    AccessProtocol protocol = AccessProtocol::kRtmp;
    ClientRole role = ClientRole::kPlay;
    std::string app, stream, remote;
  };

 private:
  struct Entry;

 public:
  // A registration, owned by the session. Move-only; ends on destruction.
  class Handle {
   public:
    Handle() = default;
    ~Handle() { end("closed"); }
    Handle(Handle&& o) noexcept : reg_(o.reg_), entry_(std::move(o.entry_)) { o.reg_ = nullptr; }
    Handle& operator=(Handle&& o) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    // Loop thread. Unregisters and sends client.disconnected with `why`
    // (the first reason given wins). Idempotent.
    void end(std::string_view why);
    bool active() const { return entry_ != nullptr; }
    // "" when not active.
    const std::string& id() const;

   private:
    friend class ClientRegistry;
    ClientRegistry* reg_ = nullptr;
    std::shared_ptr<Entry> entry_;
  };

  ClientRegistry();
  ~ClientRegistry();
  ClientRegistry(const ClientRegistry&) = delete;
  ClientRegistry& operator=(const ClientRegistry&) = delete;

  // Loop thread of `loop`. Registers a client and sends client.connected.
  // `io` may be null (bytes reported as 0).
  [[nodiscard]] Handle add(core::Loop& loop, Registration r, const core::IoCounters* io, CloseFn close);

  // Any thread.
  std::optional<ClientInfo> find(std::string_view id) const;
  struct Page {
    std::vector<ClientInfo> items;
    bool more = false;  // clients after the last item match too
  };
  // Clients matching `f` with an id greater than `after` ("" = from the
  // start), in id order, at most `limit`.
  Page list(const ClientFilter& f, std::string_view after, size_t limit) const;
  enum class CloseResult { kPosted, kNotFound, kRefused };
  // Asks the client's loop to close it with `why` (the session logs it). The
  // close happens after this returns; kRefused when the loop refused the task
  // (stopping, or its queue is full).
  CloseResult close(std::string_view id, std::string why);
  // Clients open now per (protocol, role): index protocol * 2 + role.
  static constexpr size_t kCountSlots = 2 * (size_t(kLastAccessProtocol) + 1);
  std::vector<uint64_t> counts() const;
  size_t size() const;
  // Players open now per stream, keyed "app/stream" (one pass under the lock).
  std::map<std::string, uint64_t, std::less<>> players_by_stream() const;

  // Main thread, before the loops start.
  void set_event_hook(EventHook hook) { hook_ = std::move(hook); }

 private:
  ClientInfo snapshot_locked(const Entry& e) const;
  void end(Entry& e, std::string_view why);

  const uint32_t boot_;  // random per process: ids do not repeat across restarts
  EventHook hook_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;  // guarded by mu_; by id
  uint64_t next_seq_ = 1;                                                // guarded by mu_
  std::atomic<uint64_t> open_[kCountSlots]{};
};

}  // namespace weir::origin
