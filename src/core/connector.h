// Connector: an outbound TCP connection (optionally TLS) to host:port within
// a deadline.
//
// Steps: resolve the host (core/resolver.h: names off the loop, numeric
// addresses and "localhost" without a lookup), then try each address in turn
// until one connects; with a TLS context, run the TLS handshake (SNI and
// certificate name = options.server_name, or the host) before reporting.
// Each attempt gets an even share of the time left (at least 250 ms while
// that much is left), so one address that drops SYNs does not use up the
// deadline of the others. Errors name the host and every address tried with
// why it failed ("connect example.com:1935: 192.0.2.1:1935: connection
// refused; [2001:db8::1]:1935: timed out after 2500 ms"), or say "timed out
// after N ms" when the whole deadline passed.
//
// Result: a connected TcpConn with no handler and reading stopped. The
// callback owns it: set a handler, call start_reading() (TLS conns may hold
// bytes that arrived right after the handshake; they are delivered then), or
// close it.
//
// Thread: a Connector belongs to one loop; call and destroy it on that loop's
// thread. The callback runs on the loop, never inside connect().
// Ownership: RAII. Destroying the Connector (or cancel(), or a new connect())
// before completion closes any half-open connection and suppresses the
// callback. The callback may destroy the Connector.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/net.h"
#include "core/resolver.h"
#include "core/status.h"
#include "core/tcp_conn.h"
#include "core/timer.h"

namespace weir::core {

class TlsContext;

struct ConnectOptions {
  // Whole deadline: lookup, every attempt and the TLS handshake. 0: none
  // (each attempt then waits for the kernel's own SYN retries).
  uint64_t timeout_ms = 10000;
  // Set: TLS on top (a client context).
  std::shared_ptr<const TlsContext> tls;
  // TLS name (SNI, certificate check); empty: the host.
  std::string server_name;
};

class Connector final : private TcpConn::Handler {
 public:
  using Callback = std::function<void(Result<TcpConn*>)>;
  static constexpr uint64_t kMinAttemptMs = 250;

  explicit Connector(Loop& loop);
  ~Connector() override;
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // `host`: a name, a numeric IPv4/IPv6 address (no brackets) or "localhost".
  void connect(std::string host, uint16_t port, ConnectOptions options, Callback done);
  void cancel();
  bool busy() const { return bool(done_); }

 private:
  // Lets a pending connect callback find out that its attempt was dropped.
  struct Attempt {
    Connector* owner = nullptr;
  };

  void on_resolved(Result<Resolver::Addresses> r);
  void try_next();
  void on_tcp_connected(TcpConn* c, int status);
  void attempt_failed(const std::string& why);
  void drop_attempt();
  void succeed();
  void fail(Status st);
  void finish(Result<TcpConn*> r);
  std::string tried() const;
  uint64_t now() const { return uv_now(loop_.uv()); }

  // TcpConn::Handler, while the TLS handshake runs.
  void on_read(ByteView) override {}
  void on_read_end(int uv_status) override;
  void on_timeout(const char* what) override {}
  void on_secure() override { succeed(); }
  void on_closed() override;

  Loop& loop_;
  Resolver resolver_;
  Timer deadline_;
  Timer attempt_timer_;
  std::string host_;
  uint16_t port_ = 0;
  ConnectOptions options_;
  Callback done_;
  uint64_t started_ms_ = 0;
  std::vector<SocketAddress> addrs_;
  size_t next_ = 0;
  std::vector<std::string> failures_;  // "addr: why" per attempt
  std::shared_ptr<Attempt> attempt_;
  TcpConn* attempt_conn_ = nullptr;
  SocketAddress attempt_addr_;
};

}  // namespace weir::core
