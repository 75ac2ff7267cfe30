// Resolver: host name -> socket addresses, without blocking the loop.
//
// Names go to getaddrinfo on libuv's threadpool (uv_getaddrinfo); numeric
// IPv4/IPv6 addresses and "localhost" need no lookup. The caller gets every
// address (IPv4 and IPv6, in getaddrinfo's preference order, duplicates
// removed, at most kMaxAddresses).
//
// Thread: a Resolver belongs to one loop; call it and destroy it on that
// loop's thread. The callback runs on the loop, never inside resolve().
// Ownership: RAII. Destroying the Resolver (or cancel(), or a new resolve())
// cancels the lookup in progress: its callback never runs. A lookup already
// running in the threadpool finishes there and its result is dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/loop.h"
#include "core/net.h"
#include "core/status.h"
#include "core/timer.h"

namespace weir::core {

class Resolver {
 public:
  using Addresses = std::vector<SocketAddress>;
  using Callback = std::function<void(Result<Addresses>)>;
  static constexpr size_t kMaxHostLength = 253;  // RFC 1035 2.3.4 (text form)
  static constexpr size_t kMaxAddresses = 16;

  explicit Resolver(Loop& loop) : loop_(loop), later_(loop) {}
  ~Resolver() { cancel(); }
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolves `host` (a name, a numeric address without brackets, or
  // "localhost") and gives every address the port. Errors name the host.
  void resolve(std::string host, uint16_t port, Callback done);
  void cancel();
  bool busy() const { return bool(done_); }

 private:
  struct Request;
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  void finish(Result<Addresses> r);

  Loop& loop_;
  Timer later_;  // reports results that needed no lookup, or a refused start
  Request* pending_ = nullptr;
  Callback done_;
};

// The addresses of a host that needs no lookup: a numeric IPv4/IPv6 address,
// or "localhost" (127.0.0.1, then ::1: RFC 6761 6.3). nullopt for a name.
std::optional<std::vector<SocketAddress>> literal_addresses(std::string_view host, uint16_t port);

}  // namespace weir::core
