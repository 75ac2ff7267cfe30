// A listening TCP socket owned by one loop. Every loop opens its own listener
// on the same address with SO_REUSEPORT; the kernel spreads new connections.
//
// Thread: loop thread only. Lifetime: tracked by the loop; freed after close.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "core/loop.h"
#include "core/net.h"
#include "core/tcp_conn.h"

namespace weir::core {

class TcpListener final : public Closable {
 public:
  using OnAccept = std::function<void(TcpConn*)>;
  // Starts listening on `fd`, a socket from open_tcp_listener() (opened on the
  // main thread before the loops start, so port 0 resolves once and every loop
  // shares the port). Takes the fd. `max_connections` caps accepted connections
  // process-wide (0 = no cap); a connection over the cap is accepted and closed
  // at once, with a log line. `per_ip` (optional; outlives the listener)
  // caps connections per client address across every listener sharing it
  // (limits.max_connections_per_ip): over it the connection is closed at once,
  // counted there, with a rate-limited log line. Returns nullptr with `err`
  // set on failure.
  static TcpListener* open(Loop& loop, const std::string& name, int fd, int max_connections, OnAccept on_accept,
                           Status& err, ConnectionsPerIp* per_ip = nullptr);

  const SocketAddress& bound() const { return bound_; }
  void close_for_shutdown() override;

 private:
  TcpListener(Loop& loop) : loop_(loop) {}
  static void on_connection(uv_stream_t* s, int status);

  Loop& loop_;
  std::string name_;
  uv_tcp_t tcp_{};
  SocketAddress bound_;
  int max_connections_ = 0;
  ConnectionsPerIp* per_ip_ = nullptr;
  OnAccept on_accept_;
};

}  // namespace weir::core
