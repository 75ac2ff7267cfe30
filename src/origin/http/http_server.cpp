#include "origin/http/http_server.h"

#include <unistd.h>

#include "core/tls_accept.h"

namespace weir::origin::http {

HttpCounters& http_counters() {
  static HttpCounters counters;
  return counters;
}

HttpServer* HttpServer::start(core::Loop& loop, int listen_fd, const core::HttpConfig& config,
                              std::shared_ptr<const Router> router, int max_connections, core::Status& err,
                              std::shared_ptr<const core::TlsSlot> tls, core::ConnectionsPerIp* per_ip) {
  if (!router) {
    err = core::Status::error("http: no router");
    ::close(listen_fd);
    return nullptr;
  }
  auto ctx = std::make_shared<const ServerContext>(ServerContext{config, std::move(router)});
  auto* s = new HttpServer(loop, ctx);
  const char* name = tls ? "https" : "http";
  s->listener_ = core::TcpListener::open(
      loop, name, listen_fd, max_connections,
      core::tls_accept(std::move(tls), name, [ctx](core::TcpConn* c) { HttpConnection::start(c, ctx); }), err,
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

void HttpServer::stop_accepting() {
  if (listener_) listener_->close_for_shutdown();
  listener_ = nullptr;
}

void HttpServer::close_for_shutdown() {
  loop_.untrack(this);
  if (listener_) listener_->close_for_shutdown();
  listener_ = nullptr;
  delete this;
}

}  // namespace weir::origin::http
