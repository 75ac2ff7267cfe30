#include "ingest/rtmp/rtmp_server.h"

#include "core/tcp_listener.h"
#include "ingest/rtmp/rtmp_session.h"
#include "origin/origin.h"

namespace weir::ingest::rtmp {

RtmpServer* RtmpServer::start(core::Loop& loop, int fd, origin::Origin& origin, core::Status& err) {
  auto* server = new RtmpServer(loop);
  server->listener_ = core::TcpListener::open(
      loop, "rtmp", fd, int(origin.config().limits.max_connections),
      [&loop, &origin](core::TcpConn* conn) { RtmpSession::accept(loop, origin, conn); }, err,
      &origin.connections_per_ip());
  if (!server->listener_) {
    delete server;
    return nullptr;
  }
  // The server closes its listener itself; the loop tracks the server.
  loop.untrack(server->listener_);
  server->bound_ = server->listener_->bound();
  loop.track(server);
  return server;
}

void RtmpServer::close_for_shutdown() {
  loop_.untrack(this);
  if (listener_) listener_->close_for_shutdown();
  listener_ = nullptr;
  delete this;
}

}  // namespace weir::ingest::rtmp
