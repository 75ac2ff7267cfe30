// TLS as a TcpConn layer over real loopback sockets: a self-signed
// certificate made in the test, a server conn (start_tls_server) and a client
// conn (through the Connector), bytes both ways past the kernel's buffers,
// and refusals with clear messages.
#include "core/tls.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "core/connector.h"
#include "net_test_support.h"
#include "../test_cert.h"

using namespace weir;
using namespace weir::test;

namespace {

std::shared_ptr<const core::TlsContext> server_ctx(const TestCert& cert) {
  auto ctx = core::TlsContext::server({cert.cert_file, cert.key_file});
  REQUIRE(ctx.is_ok());
  return *ctx;
}

std::shared_ptr<const core::TlsContext> client_ctx(const std::string& ca_file, bool verify = true) {
  core::TlsClientOptions o;
  o.ca_file = ca_file;
  o.verify_peer = verify;
  auto ctx = core::TlsContext::client(o);
  REQUIRE(ctx.is_ok());
  return *ctx;
}

struct Outcome {
  std::atomic<bool> done{false};
  bool ok = false;
  std::string error;
  core::TcpConn* conn = nullptr;
};

void tls_connect(TestLoop& tl, std::unique_ptr<core::Connector>& c, uint16_t port,
                 std::shared_ptr<const core::TlsContext> ctx, const std::string& name, Outcome& out) {
  tl.run([&] {
    c = std::make_unique<core::Connector>(tl.loop());
    core::ConnectOptions o;
    o.tls = ctx;
    o.server_name = name;
    o.timeout_ms = 5000;
    c->connect("127.0.0.1", port, o, [&](core::Result<core::TcpConn*> r) {
      out.ok = r.is_ok();
      if (r) out.conn = *r;
      else out.error = r.error();
      out.done = true;
    });
  });
  REQUIRE(wait_until([&] { return out.done.load(); }));
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (auto& ch : s) {
    x = x * 1103515245 + 12345;
    ch = char(x >> 16);
  }
  return s;
}

// A TLS echo server on a test loop, with a fresh self-signed certificate.
struct TlsEcho {
  TestCert cert;
  TestLoop tl;
  std::shared_ptr<ServerSeen> seen = std::make_shared<ServerSeen>();
  std::shared_ptr<const core::TlsContext> sctx = server_ctx(cert);
  uint16_t port = listen_on(tl, [seen = seen, sctx = sctx](core::TcpConn* c) { EchoHandler::start(c, seen, sctx); });
};

}  // namespace

TEST_CASE_METHOD(TlsEcho, "TLS client and server conns carry bytes both ways, with backpressure") {

  for (const char* name : {"localhost", "127.0.0.1"}) {
    INFO(name);
    std::unique_ptr<core::Connector> c;
    Outcome out;
    tls_connect(tl, c, port, client_ctx(cert.cert_file), name, out);
    INFO(out.error);
    REQUIRE(out.ok);
    // TLS 1.3: the client is done before the server has read its Finished.
    REQUIRE(wait_until([&] { return seen->secure.load(); }));

    // 3 MiB out in 48 KiB slices at once: more than a 32 KiB send buffer
    // takes, so the write goes in flight and the queue drains through
    // on_drained.
    const std::string data = pattern(3 << 20);
    Collector col;
    size_t pending_after_flush = 0;
    bool in_flight = false;
    tl.run([&] {
      core::TcpConn* conn = out.conn;
      CHECK(conn->is_tls());
      CHECK(conn->tls_established());
      conn->set_handler(&col);
      conn->start_reading();
      conn->set_send_buffer(32 * 1024);
      for (size_t off = 0; off < data.size(); off += 48 * 1024)
        conn->append(core::Slice::copy_of(core::as_bytes(std::string_view(data).substr(off, 48 * 1024))));
      CHECK(conn->pending_bytes() == data.size());
      conn->flush();
      pending_after_flush = conn->pending_bytes();
      in_flight = conn->write_in_flight();
    });
    CHECK(pending_after_flush > 0);
    CHECK(in_flight);
    REQUIRE(wait_until([&] { return col.size.load() == data.size(); }, 20000));
    CHECK(col.drained.load() >= 1);
    {
      std::lock_guard<std::mutex> lk(col.mu);
      CHECK(col.got == data);
    }
    tl.run([&] {
      CHECK(col.conn()->pending_bytes() == 0);
      CHECK_FALSE(col.conn()->write_in_flight());
      col.conn()->close();
      c.reset();
    });
    REQUIRE(wait_until([&] { return col.closed.load() && seen->closed.load(); }));
    // close_notify reached the server as a clean end.
    std::lock_guard<std::mutex> lk(seen->mu);
    CHECK(seen->tls_error.empty());
    seen->closed = false;
    seen->secure = false;
  }
}

TEST_CASE_METHOD(TlsEcho, "TLS refuses a wrong host name and an untrusted certificate, saying why") {
  std::unique_ptr<core::Connector> c;

  Outcome wrong_name;
  tls_connect(tl, c, port, client_ctx(cert.cert_file), "wrong.example", wrong_name);
  CHECK_FALSE(wrong_name.ok);
  CHECK(wrong_name.error == "connect 127.0.0.1:" + std::to_string(port) + ": 127.0.0.1:" + std::to_string(port) +
                                ": tls handshake: certificate verify failed: hostname mismatch");
  // The server saw the client's alert.
  REQUIRE(wait_until([&] { return seen->ended.load(); }));
  {
    std::lock_guard<std::mutex> lk(seen->mu);
    CHECK(seen->tls_error.find("alert") != std::string::npos);
  }

  Outcome wrong_ip;
  tls_connect(tl, c, port, client_ctx(cert.cert_file), "127.0.0.2", wrong_ip);
  CHECK_FALSE(wrong_ip.ok);
  CHECK(wrong_ip.error.find("certificate verify failed: IP address mismatch") != std::string::npos);

  Outcome untrusted;  // the system store does not know our self-signed CA
  tls_connect(tl, c, port, client_ctx(""), "localhost", untrusted);
  CHECK_FALSE(untrusted.ok);
  INFO(untrusted.error);
  CHECK(untrusted.error.find("certificate verify failed: self") != std::string::npos);

  Outcome unverified;  // verification off: connects
  tls_connect(tl, c, port, client_ctx("", false), "anything", unverified);
  CHECK(unverified.ok);

  Outcome plain_server;  // TLS to a port that speaks something else
  uint16_t plain = listen_on(tl, [s = seen](core::TcpConn* conn) { EchoHandler::start(conn, s); });
  tls_connect(tl, c, plain, client_ctx(cert.cert_file), "localhost", plain_server);
  CHECK_FALSE(plain_server.ok);
  CHECK(plain_server.error.find("tls handshake: ") != std::string::npos);

  tl.run([&] {
    if (unverified.conn) unverified.conn->close();
    c.reset();
  });
}

TEST_CASE("TLS contexts report bad files by name") {
  TestCert cert;
  auto missing = core::TlsContext::server({"/nonexistent/cert.pem", cert.key_file});
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.error().find("certificate file '/nonexistent/cert.pem'") != std::string::npos);
  auto swapped = core::TlsContext::server({cert.cert_file, cert.cert_file});
  REQUIRE_FALSE(swapped.is_ok());
  CHECK(swapped.error().find("key file") != std::string::npos);
  auto ca = core::TlsContext::client({true, "/nonexistent/ca.pem"});
  REQUIRE_FALSE(ca.is_ok());
  CHECK(ca.error().find("CA file '/nonexistent/ca.pem'") != std::string::npos);
  auto client_as_server = core::TlsSession::server(*core::TlsContext::client({}));
  CHECK_FALSE(client_as_server.is_ok());
}
