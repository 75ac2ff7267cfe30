#include "ingest/rtmp/rtmp_server.h"

#include "core/tcp_listener.h"
#include "core/tls_accept.h"
#include "ingest/rtmp/rtmp_session.h"
#include "origin/origin.h"

namespace weir::ingest::rtmp {

RtmpServer* RtmpServer::start(core::Loop& loop, int fd, origin::Origin& origin, core::Status& err,
                              std::shared_ptr<const core::TlsSlot> tls) {
  auto* server = new RtmpServer(loop);
  const char* name = tls ? "rtmps" : "rtmp";
  server->listener_ = core::TcpListener::open(
      loop, name, fd, int(origin.config().limits.max_connections),
      core::tls_accept(std::move(tls), name,
                       [&loop, &origin](core::TcpConn* conn) { RtmpSession::accept(loop, origin, conn); }),
      err, &origin.connections_per_ip());
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

void RtmpServer::stop_accepting() {
  if (listener_) listener_->close_for_shutdown();
  listener_ = nullptr;
}

void RtmpServer::close_for_shutdown() {
  loop_.untrack(this);
  if (listener_) listener_->close_for_shutdown();
  listener_ = nullptr;
  delete this;
}

}  // namespace weir::ingest::rtmp
