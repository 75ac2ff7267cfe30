// HttpServer: the HTTP/1.1 listener of one loop. Every loop runs its own
// server on its own listening socket (SO_REUSEPORT, same port); all of them
// share one immutable Router.
//
// Thread: start() and close_for_shutdown() on the loop's thread.
// Ownership: the server owns its listener and frees itself in
// close_for_shutdown() (called by the loop at shutdown, as it is tracked). The
// pointer start() returns is valid until then. Connections are independent:
// each is tracked by the loop and closed on shutdown by itself; closing the
// server only stops accepting.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/tcp_listener.h"
#include "core/tls_slot.h"
#include "origin/http/http_connection.h"
#include "origin/http/http_counters.h"
#include "origin/http/router.h"

namespace weir::origin::http {

class HttpServer final : public core::Closable {
 public:
  // Starts serving on `listen_fd` (from core::open_tcp_listener; taken over).
  // `max_connections` caps accepted connections process-wide (0 = none);
  // `per_ip` (optional, outlives the server) caps them per client address.
  // Returns nullptr with `err` set on failure.
  // With `tls`, every connection is HTTPS.
  static HttpServer* start(core::Loop& loop, int listen_fd, const core::HttpConfig& config,
                           std::shared_ptr<const Router> router, int max_connections, core::Status& err,
                           std::shared_ptr<const core::TlsSlot> tls = nullptr,
                           core::ConnectionsPerIp* per_ip = nullptr);

  const core::SocketAddress& bound() const { return bound_; }
  // Loop thread: closes the listener (graceful shutdown); connections go on.
  void stop_accepting();
  // Stops accepting and frees the server.
  void close_for_shutdown() override;

 private:
  HttpServer(core::Loop& loop, std::shared_ptr<const ServerContext> ctx) : loop_(loop), ctx_(std::move(ctx)) {}
  ~HttpServer() = default;

  core::Loop& loop_;
  std::shared_ptr<const ServerContext> ctx_;
  core::TcpListener* listener_ = nullptr;
  core::SocketAddress bound_;
};

}  // namespace weir::origin::http
