// Peers for the connector and TLS tests, all on a test loop (test_loop.h):
// a listener on 127.0.0.1:0, an echoing server handler and a client handler
// that collects what it reads.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/net.h"
#include "core/tcp_conn.h"
#include "core/tcp_listener.h"
#include "core/tls.h"
#include "../test_loop.h"
#include "../test_net.h"

namespace weir::test {

// Listens on 127.0.0.1:0 on the loop; returns the port. The listener lives
// until the loop stops.
inline uint16_t listen_on(TestLoop& tl, std::function<void(core::TcpConn*)> on_accept) {
  uint16_t port = 0;
  const int fd = loop_listener_fd(port);
  std::string err;
  tl.run([&] {
    core::Status st;
    if (!core::TcpListener::open(tl.loop(), "test", fd, 0, on_accept, st)) err = st.message();
  });
  REQUIRE(err.empty());
  return port;
}

// What a server-side conn saw; shared with the test thread.
struct ServerSeen {
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> secure{false};
  std::atomic<bool> ended{false};
  std::atomic<bool> closed{false};
  std::mutex mu;
  std::string tls_error;
};

// A server-side handler for an accepted conn, tracked by its loop like a
// real session (so a loop that stops closes it, and nothing leaks); frees
// itself when the conn is closed. Records what it saw in `seen`.
class ServerHandler : public core::TcpConn::Handler, public core::Closable {
 public:
  explicit ServerHandler(std::shared_ptr<ServerSeen> seen) : seen_(std::move(seen)) {}
  // Takes an accepted conn, optionally starting TLS on it.
  void attach(core::TcpConn* c, std::shared_ptr<const core::TlsContext> tls) {
    loop_ = &c->loop();
    loop_->track(this);
    c->set_handler(this);
    if (tls) REQUIRE(c->start_tls_server(tls).is_ok());
    c->start_reading();
  }
  void close_for_shutdown() override {
    if (conn_) conn_->close();
  }
  void on_read(core::ByteView data) override { seen_->bytes += data.size(); }
  void on_secure() override { seen_->secure = true; }
  void on_read_end(int) override {
    {
      std::lock_guard<std::mutex> lk(seen_->mu);
      seen_->tls_error = conn_->tls_error();
    }
    seen_->ended = true;
    conn_->close();
  }
  void on_closed() override {
    loop_->untrack(this);
    seen_->closed = true;
    delete this;
  }

 protected:
  std::shared_ptr<ServerSeen> seen_;
  core::Loop* loop_ = nullptr;
};

// Echoes every byte back (a copy per read).
class EchoHandler final : public ServerHandler {
 public:
  using ServerHandler::ServerHandler;
  static void start(core::TcpConn* c, std::shared_ptr<ServerSeen> seen,
                    std::shared_ptr<const core::TlsContext> tls = nullptr) {
    (new EchoHandler(std::move(seen)))->attach(c, std::move(tls));
  }
  void on_read(core::ByteView data) override {
    ServerHandler::on_read(data);
    conn_->append(core::Slice::copy_of(data));
    conn_->flush();
  }
};

// Client side: keeps what it reads; counts drains.
class Collector final : public core::TcpConn::Handler {
 public:
  void on_read(core::ByteView data) override {
    std::lock_guard<std::mutex> lk(mu);
    got.append(reinterpret_cast<const char*>(data.data()), data.size());
    size += data.size();
  }
  void on_read_end(int status) override {
    end_status = status;
    ended = true;
    conn_->close();
  }
  void on_drained() override { drained++; }
  void on_closed() override { closed = true; }
  core::TcpConn* conn() { return conn_; }

  std::mutex mu;
  std::string got;
  std::atomic<size_t> size{0};
  std::atomic<int> drained{0};
  std::atomic<bool> ended{false};
  std::atomic<bool> closed{false};
  std::atomic<int> end_status{0};
};

}  // namespace weir::test
