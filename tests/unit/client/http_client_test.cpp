// HttpClient against a real Weir origin in-process (test_origin.h) and
// against raw sockets the test controls: request bodies, keep-alive, status
// codes as they are, HEAD, timeouts, caps, refusals, the keep-alive retry,
// HTTPS, and destruction from inside a callback.
#include "client/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>

#include "client/rtmp_client.h"
#include "client_test_support.h"
#include "test_origin.h"
#include "../test_cert.h"
#include "../test_net.h"

using namespace weir;
using namespace weir::test;
using client::HttpClient;
using client::HttpRequest;
using client::HttpResponse;

namespace {

struct Result {
  std::atomic<bool> done{false};
  bool ok = false;
  std::string error;
  HttpResponse resp;
};

HttpClient::Done collect(Result& r) {
  return [&r](core::Result<HttpResponse> res) {
    r.ok = res.is_ok();
    if (res) r.resp = std::move(*res);
    else r.error = res.error();
    r.done = true;
  };
}

// A raw TCP server on the test side: listen on 127.0.0.1:0, run `serve` on a
// thread with the listening fd.
class RawServer {
 public:
  explicit RawServer(std::function<void(int)> serve) {
    thread_ = std::thread([this, serve] { serve(listener_.fd); });
  }
  ~RawServer() {
    ::shutdown(listener_.fd, SHUT_RDWR);  // wakes a pending accept()
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(listener_.port) + path;
  }

 private:
  RawListener listener_{16};
  std::thread thread_;
};

// Reads one request head (through the blank line); "" on EOF.
std::string read_head(int fd) {
  std::string got;
  char c;
  while (got.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) return "";
    got += c;
  }
  return got;
}

void send_all(int fd, const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

}  // namespace

TEST_CASE("POST to an echo route returns its body; keep-alive carries the next request") {
  TestOrigin srv;
  TestLoop cl;
  std::unique_ptr<HttpClient> c;
  Result first, second;
  cl.run([&] {
    c = std::make_unique<HttpClient>(cl.loop());
    HttpRequest req{"POST", srv.http_url("/echo"), {{"X-Test", "abc"}}, core::Slice::copy_of(core::as_bytes("hook!"))};
    REQUIRE(c->request(req, 1024, [&](core::Result<HttpResponse> r) {
      collect(first)(std::move(r));
      // The next request, from the callback: same origin, same connection.
      REQUIRE(c->request({"POST", srv.http_url("/echo"), {}, core::Slice::copy_of(core::as_bytes("two"))}, 1024,
                         collect(second)).is_ok());
    }).is_ok());
    CHECK(c->busy());
    CHECK(c->request({"GET", srv.http_url("/healthz"), {}, {}}, 10, collect(second)).message() ==
          "http: an exchange is already running");
  });
  REQUIRE(wait_until([&] { return second.done.load(); }));
  INFO(first.error << " / " << second.error);
  REQUIRE(first.ok);
  CHECK(first.resp.status == 200);
  CHECK(first.resp.reason == "OK");
  CHECK(first.resp.body == "hook!");
  CHECK(first.resp.header("x-echo-method") == "POST");
  CHECK(first.resp.header("x-echo-header") == "abc");
  CHECK(first.resp.header("content-type") == "application/octet-stream");
  REQUIRE(second.ok);
  CHECK(second.resp.body == "two");
  cl.run([&] {
    CHECK(c->stats().connections == 1);
    CHECK(c->stats().requests == 2);
    CHECK(c->stats().reused == 1);
    c.reset();
  });
}

TEST_CASE("responses come as they are: 404, a redirect not followed, HEAD without a body") {
  TestOrigin srv;
  TestLoop cl;
  std::unique_ptr<HttpClient> c;
  Result missing, moved, head, after;
  cl.run([&] {
    c = std::make_unique<HttpClient>(cl.loop());
    REQUIRE(c->request({"GET", srv.http_url("/live/none.flv"), {}, {}}, 4096, collect(missing)).is_ok());
  });
  REQUIRE(wait_until([&] { return missing.done.load(); }));
  REQUIRE(missing.ok);
  CHECK(missing.resp.status == 404);
  CHECK(missing.resp.body.find("not published") != std::string::npos);
  cl.run([&] { REQUIRE(c->request({"GET", srv.http_url("/moved"), {}, {}}, 4096, collect(moved)).is_ok()); });
  REQUIRE(wait_until([&] { return moved.done.load(); }));
  REQUIRE(moved.ok);
  CHECK(moved.resp.status == 302);
  CHECK(moved.resp.header("location") == "/elsewhere");
  CHECK(moved.resp.body == "moved");
  // HEAD: Content-Length of the GET body but no body; the connection then
  // carries a GET whose body parses right.
  cl.run([&] { REQUIRE(c->request({"HEAD", srv.http_url("/moved"), {}, {}}, 4096, collect(head)).is_ok()); });
  REQUIRE(wait_until([&] { return head.done.load(); }));
  REQUIRE(head.ok);
  CHECK(head.resp.status == 302);
  CHECK(head.resp.header("content-length") == "5");
  CHECK(head.resp.body.empty());
  cl.run([&] { REQUIRE(c->request({"GET", srv.http_url("/moved"), {}, {}}, 4096, collect(after)).is_ok()); });
  REQUIRE(wait_until([&] { return after.done.load(); }));
  REQUIRE(after.ok);
  CHECK(after.resp.body == "moved");
  cl.run([&] {
    CHECK(c->stats().connections == 1);
    c.reset();
  });
}

TEST_CASE("HTTP timeouts: response head, idle body, total") {
  TestOrigin srv;
  TestLoop cl;
  SECTION("no response head") {
    RawServer silent([](int fd) {
      int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      read_head(c);
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      ::close(c);
    });
    client::HttpClientOptions o;
    o.head_timeout_ms = 300;
    std::unique_ptr<HttpClient> c;
    Result r;
    cl.run([&] {
      c = std::make_unique<HttpClient>(cl.loop(), o);
      REQUIRE(c->request({"GET", silent.url("/x"), {}, {}}, 100, collect(r)).is_ok());
    });
    REQUIRE(wait_until([&] { return r.done.load(); }));
    CHECK(r.error == "http: no response head within 300 ms");
    cl.run([&] { c.reset(); });
  }
  SECTION("a live HTTP-FLV body that stops (idle), and one that goes on past the total") {
    const auto pkts = clip_packets();
    RtmpRecorder pub_rec;
    std::unique_ptr<client::RtmpClient> pub;
    cl.run([&] {
      client::RtmpClientOptions po;
      po.mode = client::RtmpMode::kPublish;
      pub = std::make_unique<client::RtmpClient>(cl.loop(), pub_rec, po);
      REQUIRE(pub->start(srv.rtmp_url("live/idle")).is_ok());
    });
    REQUIRE(wait_until([&] { return pub_rec.ready.load(); }));
    for (bool total : {false, true}) {
      client::HttpClientOptions o;
      if (total) o.total_timeout_ms = 600;
      else o.idle_timeout_ms = 400;
      HttpRecorder rec;
      std::unique_ptr<HttpClient> c;
      cl.run([&] {
        c = std::make_unique<HttpClient>(cl.loop(), o);
        REQUIRE(c->send({"GET", srv.http_url("/live/idle.flv"), {}, {}}, rec).is_ok());
      });
      REQUIRE(wait_until([&] { return rec.heads.load() == 1; }));
      cl.run([&] {
        for (size_t i = 0; i < 10; ++i) REQUIRE(pub->send(pkts[i]).is_ok());
      });
      REQUIRE(wait_until([&] { return rec.done.load(); }));
      CHECK(rec.body_size.load() > 0);
      CHECK(rec.reason == (total ? "http: not complete within 600 ms" : "http: no data for 400 ms"));
      cl.run([&] { c.reset(); });
    }
    cl.run([&] { pub.reset(); });
  }
}

TEST_CASE("a body over the cap, a bad header and a refused connect are errors") {
  TestOrigin srv;
  TestLoop cl;
  std::unique_ptr<HttpClient> c;
  Result big, refused;
  const uint16_t dead_port = free_port();
  cl.run([&] {
    c = std::make_unique<HttpClient>(cl.loop());
    CHECK(c->request({"GET", srv.http_url("/x"), {{"X-Bad", "a\r\nInjected: 1"}}, {}}, 10, collect(big)).message() ==
          "http: header 'X-Bad' has characters a header cannot carry");
    CHECK(c->request({"GET", srv.http_url("/x"), {{"Content-Length", "5"}}, {}}, 10, collect(big)).message() ==
          "http: header 'Content-Length' is set by the client");
    CHECK(c->request({"GET", "https://127.0.0.1/x", {}, {}}, 10, collect(big)).message() ==
          "http: https:// needs a TLS context (HttpClientOptions::tls)");
    CHECK(c->request({"GET", "ftp://127.0.0.1/x", {}, {}}, 10, collect(big)).message().find("ftp") !=
          std::string::npos);
    CHECK_FALSE(c->busy());
    REQUIRE(c->request({"POST", srv.http_url("/echo"), {}, core::Slice::copy_of(core::as_bytes(std::string(100, 'x')))},
                       10, collect(big)).is_ok());
  });
  REQUIRE(wait_until([&] { return big.done.load(); }));
  CHECK(big.error == "http: response body over 10 bytes");
  cl.run([&] {
    REQUIRE(c->request({"GET", "http://127.0.0.1:" + std::to_string(dead_port) + "/", {}, {}}, 10, collect(refused))
                .is_ok());
  });
  REQUIRE(wait_until([&] { return refused.done.load(); }));
  const std::string addr = "127.0.0.1:" + std::to_string(dead_port);
  CHECK(refused.error == "http: connect " + addr + ": " + addr + ": connection refused");
  cl.run([&] { c.reset(); });
}

TEST_CASE("a request on a kept-alive connection that the server closed is sent once more") {
  // Connection 1 answers one request with keep-alive, then reads the second
  // and closes without a byte (its idle close crossed our request).
  // Connection 2 answers.
  RawServer raw([](int fd) {
    int c1 = ::accept(fd, nullptr, nullptr);
    if (c1 < 0) return;
    read_head(c1);
    send_all(c1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    read_head(c1);
    ::close(c1);
    int c2 = ::accept(fd, nullptr, nullptr);
    if (c2 < 0) return;
    read_head(c2);
    send_all(c2, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nretry");
    ::close(c2);
  });
  TestLoop cl;
  std::unique_ptr<HttpClient> c;
  Result first, second;
  cl.run([&] {
    c = std::make_unique<HttpClient>(cl.loop());
    REQUIRE(c->request({"GET", raw.url("/a"), {}, {}}, 100, [&](core::Result<HttpResponse> r) {
      collect(first)(std::move(r));
      REQUIRE(c->request({"GET", raw.url("/b"), {}, {}}, 100, collect(second)).is_ok());
    }).is_ok());
  });
  REQUIRE(wait_until([&] { return second.done.load(); }));
  INFO(second.error);
  REQUIRE(first.ok);
  CHECK(first.resp.body == "ok");
  REQUIRE(second.ok);
  CHECK(second.resp.body == "retry");
  cl.run([&] {
    CHECK(c->stats().connections == 2);
    CHECK(c->stats().requests == 3);
    CHECK(c->stats().reused == 1);
    c.reset();
  });
}

TEST_CASE("HTTPS through the TLS layer, and refusing an untrusted server") {
  TestCert cert;
  auto server_tls = core::TlsContext::server({cert.cert_file, cert.key_file});
  REQUIRE(server_tls.is_ok());
  TestOrigin srv(*server_tls);
  TestLoop cl;
  core::TlsClientOptions trusted;
  trusted.ca_file = cert.cert_file;
  client::HttpClientOptions o;
  o.tls = *core::TlsContext::client(trusted);
  client::HttpClientOptions untrusted;
  untrusted.tls = *core::TlsContext::client({});
  std::unique_ptr<HttpClient> good, bad;
  Result ok, refused;
  cl.run([&] {
    good = std::make_unique<HttpClient>(cl.loop(), o);
    bad = std::make_unique<HttpClient>(cl.loop(), untrusted);
    REQUIRE(good->request({"POST", srv.https_url("/echo"), {}, core::Slice::copy_of(core::as_bytes("secret"))}, 100,
                          collect(ok)).is_ok());
    REQUIRE(bad->request({"GET", srv.https_url("/healthz"), {}, {}}, 100, collect(refused)).is_ok());
  });
  REQUIRE(wait_until([&] { return ok.done.load() && refused.done.load(); }));
  INFO(ok.error);
  REQUIRE(ok.ok);
  CHECK(ok.resp.body == "secret");
  CHECK(refused.error.find("tls handshake: certificate verify failed: self") != std::string::npos);
  cl.run([&] {
    good.reset();
    bad.reset();
  });
}

TEST_CASE("a client destroyed inside its own callback calls nothing more") {
  TestOrigin srv;
  TestLoop cl;
  struct DestroyOnHead : HttpClient::Handler {
    std::unique_ptr<HttpClient>* owner = nullptr;
    std::atomic<int> heads{0}, bodies{0}, completes{0};
    void on_head(const protocol::HttpResponseHead&) override {
      heads++;
      owner->reset();
    }
    void on_body(core::ByteView) override { bodies++; }
    void on_complete(const core::Status&) override { completes++; }
  } h;
  std::unique_ptr<HttpClient> c;
  cl.run([&] {
    c = std::make_unique<HttpClient>(cl.loop());
    h.owner = &c;
    REQUIRE(c->send({"POST", srv.http_url("/echo"), {}, core::Slice::copy_of(core::as_bytes("body"))}, h).is_ok());
  });
  REQUIRE(wait_until([&] { return h.heads.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(h.bodies.load() == 0);
  CHECK(h.completes.load() == 0);
  bool gone = false;
  cl.run([&] { gone = c == nullptr; });
  CHECK(gone);
}
