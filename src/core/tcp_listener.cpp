#include "core/tcp_listener.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

namespace weir::core {

TcpListener* TcpListener::open(Loop& loop, const std::string& name, int fd, int max_connections, OnAccept on_accept,
                               Status& err, ConnectionsPerIp* per_ip) {
  auto* l = new TcpListener(loop);
  l->name_ = name;
  l->max_connections_ = max_connections;
  l->per_ip_ = per_ip;
  l->on_accept_ = std::move(on_accept);
  uv_tcp_init(loop.uv(), &l->tcp_);
  l->tcp_.data = l;
  int rc = uv_tcp_open(&l->tcp_, fd);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp_), 1024, &TcpListener::on_connection);
  if (rc != 0) {
    err = Status::errorf("{} listen: {}", name, uv_strerror(rc));
    uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp_), [](uv_handle_t* h) { delete static_cast<TcpListener*>(h->data); });
    return nullptr;
  }
  if (auto bound = local_address_of(fd)) l->bound_ = *bound;
  loop.track(l);
  return l;
}

void TcpListener::on_connection(uv_stream_t* s, int status) {
  auto* self = static_cast<TcpListener*>(s->data);
  if (status != 0) {
    spdlog::warn("{}: accept failed: {}", self->name_, uv_strerror(status));
    return;
  }
  TcpConn* c = TcpConn::accept_from(self->loop_, s);
  if (!c) return;
  if (self->max_connections_ > 0 && TcpConn::open_accepted() > self->max_connections_) {
    spdlog::warn("{}: refusing {}: connection limit {} reached", self->name_, c->peer(), self->max_connections_);
    c->close();
    return;
  }
  if (self->per_ip_) {
    std::optional<ConnectionsPerIp::Slot> slot = self->per_ip_->try_acquire(c->peer());
    if (!slot) {
      if (auto n = self->per_ip_->log_allowed(int64_t(uv_now(self->loop_.uv()))))
        spdlog::warn("{}: refusing {}: limits.max_connections_per_ip ({}) reached for its address ({} refused "
                     "since the last such line)", self->name_, c->peer(), self->per_ip_->cap(), *n);
      c->close();
      return;
    }
    c->hold_ip_slot(std::move(*slot));
  }
  self->on_accept_(c);
}

void TcpListener::close_for_shutdown() {
  loop_.untrack(this);
  auto* h = reinterpret_cast<uv_handle_t*>(&tcp_);
  if (!uv_is_closing(h)) uv_close(h, [](uv_handle_t* h) { delete static_cast<TcpListener*>(h->data); });
}

}  // namespace weir::core
