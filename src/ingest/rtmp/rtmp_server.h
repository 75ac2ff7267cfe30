// RtmpServer: the RTMP listener of one loop. Accepts connections and gives
// each to an RtmpSession on the same loop.
//
// Thread: its loop. Lifetime: tracked by the loop; close_for_shutdown() (the
// loop calls it at shutdown) closes the listener and frees the server.
#pragma once

#include "core/loop.h"
#include "core/net.h"
#include "core/status.h"

namespace weir::core {
class TcpListener;
}
namespace weir::origin {
class Origin;
}

namespace weir::ingest::rtmp {

class RtmpServer final : public core::Closable {
 public:
  // Listens on `fd` (from core::open_tcp_listener). Returns nullptr with
  // `err` set on failure. The server lives until the loop stops.
  static RtmpServer* start(core::Loop& loop, int fd, origin::Origin& origin, core::Status& err);
  const core::SocketAddress& bound() const { return bound_; }
  void close_for_shutdown() override;

 private:
  explicit RtmpServer(core::Loop& loop) : loop_(loop) {}
  ~RtmpServer() override = default;
  core::Loop& loop_;
  core::TcpListener* listener_ = nullptr;
  core::SocketAddress bound_;
};

}  // namespace weir::ingest::rtmp
