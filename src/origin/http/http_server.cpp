#include "origin/http/http_server.h"

#include <unistd.h>

namespace weir::origin::http {

HttpCounters& http_counters() {
  static HttpCounters counters;
  return counters;
}

HttpServer* HttpServer::start(core::Loop& loop, int listen_fd, const core::HttpConfig& config,
                              std::shared_ptr<const Router> router, int max_connections, core::Status& err,
                              core::ConnectionsPerIp* per_ip) {
  if (!router) {
    err = core::Status::error("http: no router");
    ::close(listen_fd);
    return nullptr;
  }
  auto ctx = std::make_shared<const ServerContext>(ServerContext{config, std::move(router)});
  auto* s = new HttpServer(loop, ctx);
  s->listener_ = core::TcpListener::open(
      loop, "http", listen_fd, max_connections, [ctx](core::TcpConn* c) { HttpConnection::start(c, ctx); }, err,
      per_ip);
  if (!s->listener_) {
    delete s;
    return nullptr;
  }
  // The server closes its listener itself; the loop tracks the server.
  loop.untrack(s->listener_);
  s->bound_ = s->listener_->bound();
  loop.track(s);
  return s;
}

void HttpServer::close_for_shutdown() {
  loop_.untrack(this);
  if (listener_) listener_->close_for_shutdown();
  listener_ = nullptr;
  delete this;
}

}  // namespace weir::origin::http
