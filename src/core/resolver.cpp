#include "core/resolver.h"

#include <netdb.h>

#include <cstring>

namespace weir::core {

struct Resolver::Request {
  uv_getaddrinfo_t req{};
  Resolver* owner = nullptr;  // null once cancelled
  std::string host;
  uint16_t port = 0;
};

std::optional<std::vector<SocketAddress>> literal_addresses(std::string_view host, uint16_t port) {
  if (host == "localhost") {
    std::vector<SocketAddress> out;
    out.push_back(*numeric_address("127.0.0.1", port));
    out.push_back(*numeric_address("::1", port));
    return out;
  }
  auto a = numeric_address(host, port);
  if (!a) return std::nullopt;
  return std::vector<SocketAddress>{*a};
}

void Resolver::resolve(std::string host, uint16_t port, Callback done) {
  cancel();
  done_ = std::move(done);
  if (auto lit = literal_addresses(host, port)) {
    later_.start(0, [this, addrs = std::move(*lit)]() mutable { finish(std::move(addrs)); });
    return;
  }
  if (host.empty() || host.size() > kMaxHostLength || host.find('\0') != std::string::npos) {
    Status st = Status::errorf("resolve '{}': not a host name", host.substr(0, 64));
    later_.start(0, [this, st] { finish(st); });
    return;
  }
  auto* r = new Request();
  r->owner = this;
  r->host = std::move(host);
  r->port = port;
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  int rc = uv_getaddrinfo(loop_.uv(), &r->req, &Resolver::on_resolved, r->host.c_str(), nullptr, &hints);
  if (rc != 0) {
    Status st = Status::errorf("resolve '{}': {}", r->host, uv_strerror(rc));
    delete r;
    later_.start(0, [this, st] { finish(st); });
    return;
  }
  pending_ = r;
}

void Resolver::cancel() {
  if (pending_) {
    pending_->owner = nullptr;
    // Frees the request from on_resolved (UV_EAI_CANCELED, or the finished
    // lookup if the threadpool had already started it).
    uv_cancel(reinterpret_cast<uv_req_t*>(&pending_->req));
    pending_ = nullptr;
  }
  later_.stop();
  done_ = nullptr;
}

void Resolver::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* r = static_cast<Request*>(req->data);
  Resolver* self = r->owner;
  if (!self) {
    uv_freeaddrinfo(res);
    delete r;
    return;
  }
  self->pending_ = nullptr;
  Result<Addresses> out = Addresses{};
  if (status != 0) {
    out = Status::errorf("resolve '{}': {}", r->host, uv_strerror(status));
  } else {
    Addresses& list = out.value();
    for (addrinfo* ai = res; ai && list.size() < kMaxAddresses; ai = ai->ai_next) {
      if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
      SocketAddress a;
      std::memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
      a.len = socklen_t(ai->ai_addrlen);
      a.set_port(r->port);
      bool dup = false;
      for (const SocketAddress& b : list) dup = dup || (b.len == a.len && std::memcmp(&b.ss, &a.ss, a.len) == 0);
      if (!dup) list.push_back(a);
    }
    if (list.empty()) out = Status::errorf("resolve '{}': no IPv4 or IPv6 address", r->host);
  }
  uv_freeaddrinfo(res);
  delete r;
  self->finish(std::move(out));
}

void Resolver::finish(Result<Addresses> r) {
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(r));  // may destroy this Resolver
}

}  // namespace weir::core
