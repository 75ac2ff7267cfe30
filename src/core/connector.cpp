#include "core/connector.h"

#include <algorithm>

#include "core/tls.h"

namespace weir::core {

Connector::Connector(Loop& loop) : loop_(loop), resolver_(loop), deadline_(loop), attempt_timer_(loop) {}

Connector::~Connector() { cancel(); }

void Connector::connect(std::string host, uint16_t port, ConnectOptions options, Callback done) {
  cancel();
  host_ = std::move(host);
  port_ = port;
  options_ = std::move(options);
  done_ = std::move(done);
  started_ms_ = now();
  failures_.clear();
  addrs_.clear();
  next_ = 0;
  if (options_.timeout_ms > 0) {
    deadline_.start(options_.timeout_ms, [this] {
      drop_attempt();
      std::string t = tried();
      fail(Status::errorf("connect {}:{}: timed out after {} ms{}", host_, port_, options_.timeout_ms,
                          t.empty() ? "" : " (" + t + ")"));
    });
  }
  resolver_.resolve(host_, port_, [this](Result<Resolver::Addresses> r) { on_resolved(std::move(r)); });
}

void Connector::cancel() {
  resolver_.cancel();
  deadline_.stop();
  attempt_timer_.stop();
  drop_attempt();
  done_ = nullptr;
}

void Connector::on_resolved(Result<Resolver::Addresses> r) {
  if (!r) return fail(Status::errorf("connect {}:{}: {}", host_, port_, r.error()));
  addrs_ = std::move(r.value());
  try_next();
}

void Connector::try_next() {
  if (next_ >= addrs_.size()) return fail(Status::errorf("connect {}:{}: {}", host_, port_, tried()));
  attempt_addr_ = addrs_[next_++];
  if (options_.timeout_ms > 0) {
    uint64_t elapsed = now() - started_ms_;
    uint64_t left = options_.timeout_ms > elapsed ? options_.timeout_ms - elapsed : 0;
    uint64_t share = left / (addrs_.size() - next_ + 1);
    uint64_t budget = std::max(share, std::min(left, kMinAttemptMs));
    // The last address waits for the deadline itself.
    if (next_ < addrs_.size()) {
      attempt_timer_.start(budget, [this, budget] { attempt_failed(fmt::format("timed out after {} ms", budget)); });
    }
  }
  attempt_ = std::make_shared<Attempt>();
  attempt_->owner = this;
  attempt_conn_ = TcpConn::connect_to(loop_, attempt_addr_, [a = attempt_](TcpConn* c, int status) {
    if (!a->owner) return c->close();
    a->owner->on_tcp_connected(c, status);
  });
  attempt_conn_->set_handler(this);
}

void Connector::on_tcp_connected(TcpConn* c, int status) {
  if (status != 0) return attempt_failed(uv_strerror(status));
  if (!options_.tls) return succeed();
  Status st = c->start_tls_client(options_.tls, options_.server_name.empty() ? host_ : options_.server_name);
  if (!st) return fail(Status::errorf("connect {}:{}: {}: {}", host_, port_, attempt_addr_.to_string(), st.message()));
  c->start_reading();  // on_secure() or on_read_end() follows
}

void Connector::on_read_end(int uv_status) {
  // Only during the TLS handshake: the peer closed, or TLS failed.
  std::string why = attempt_conn_ && !attempt_conn_->tls_error().empty() ? attempt_conn_->tls_error()
                    : uv_status == UV_EOF ? std::string("closed by the peer during the TLS handshake")
                                          : std::string(uv_strerror(uv_status));
  fail(Status::errorf("connect {}:{}: {}: {}", host_, port_, attempt_addr_.to_string(), why));
}

void Connector::on_closed() {
  // The attempt's conn closed under us (the loop refused to report a failed
  // connect because it is stopping).
  attempt_conn_ = nullptr;
  conn_ = nullptr;
  if (busy()) attempt_failed("connection closed");
}

void Connector::attempt_failed(const std::string& why) {
  failures_.push_back(attempt_addr_.to_string() + ": " + why);
  attempt_timer_.stop();
  drop_attempt();
  try_next();
}

void Connector::drop_attempt() {
  if (attempt_) attempt_->owner = nullptr;
  attempt_.reset();
  if (TcpConn* c = attempt_conn_) {
    attempt_conn_ = nullptr;
    c->set_handler(nullptr);
    conn_ = nullptr;
    c->close();  // a pending connect is cancelled; its callback only closes
  }
}

void Connector::succeed() {
  TcpConn* c = attempt_conn_;
  attempt_conn_ = nullptr;
  if (attempt_) attempt_->owner = nullptr;
  attempt_.reset();
  c->stop_reading();
  c->set_handler(nullptr);
  conn_ = nullptr;
  finish(c);
}

void Connector::fail(Status st) {
  drop_attempt();
  finish(std::move(st));
}

void Connector::finish(Result<TcpConn*> r) {
  deadline_.stop();
  attempt_timer_.stop();
  resolver_.cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(r));  // may destroy this Connector
  else if (r) r.value()->close();
}

std::string Connector::tried() const {
  std::string out;
  for (const std::string& f : failures_) out += (out.empty() ? "" : "; ") + f;
  return out;
}

}  // namespace weir::core
