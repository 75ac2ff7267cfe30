#include "ingest/rtmp/rtmp_server.h"

#include "core/tcp_listener.h"
#include "ingest/rtmp/rtmp_session.h"
#include "origin/origin.h"

namespace weir::ingest::rtmp {

RtmpServer* RtmpServer::start(core::Loop& loop, int fd, origin::Origin& origin, core::Status& err) {
  auto* server = new RtmpServer();
  server->listener_ = core::TcpListener::open(
      loop, "rtmp", fd, int(origin.config().limits.max_connections),
      [&loop, &origin](core::TcpConn* conn) { RtmpSession::accept(loop, origin, conn); }, err);
  if (!server->listener_) {
    delete server;
    return nullptr;
  }
  // The listener is closed by the loop at shutdown; this small object stays
  // for the process lifetime (one per loop).
  return server;
}

const core::SocketAddress& RtmpServer::bound() const { return listener_->bound(); }

}  // namespace weir::ingest::rtmp
