// RtmpServer: the RTMP listener of one loop. Accepts connections and gives
// each to an RtmpSession on the same loop.
//
// Thread: its loop. Lifetime: tracked by the loop; close_for_shutdown() (the
// loop calls it at shutdown) closes the listener and frees the server.
#pragma once

#include <memory>

#include "core/loop.h"
#include "core/net.h"
#include "core/status.h"

namespace weir::core {
class TcpListener;
class TlsSlot;
}
namespace weir::origin {
class Origin;
}

namespace weir::ingest::rtmp {

class RtmpServer final : public core::Closable {
 public:
  // Listens on `fd` (from core::open_tcp_listener). With `tls`, every
  // connection is RTMPS (RTMP over TLS). Returns nullptr with `err` set on
  // failure. The server lives until the loop stops.
  static RtmpServer* start(core::Loop& loop, int fd, origin::Origin& origin, core::Status& err,
                           std::shared_ptr<const core::TlsSlot> tls = nullptr);
  const core::SocketAddress& bound() const { return bound_; }
  // Loop thread: closes the listener (graceful shutdown); sessions go on.
  void stop_accepting();
  void close_for_shutdown() override;

 private:
  explicit RtmpServer(core::Loop& loop) : loop_(loop) {}
  ~RtmpServer() override = default;
  core::Loop& loop_;
  core::TcpListener* listener_ = nullptr;
  core::SocketAddress bound_;
};

}  // namespace weir::ingest::rtmp
