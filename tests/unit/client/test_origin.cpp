#include "test_origin.h"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/net.h"
#include "core/tcp_listener.h"
#include "ingest/rtmp/rtmp_session.h"
#include "origin/http/http_connection.h"
#include "origin/http/http_server.h"
#include "origin/origin.h"
#include "origin/routes.h"
#include "../test_net.h"

namespace weir::test {

namespace {

constexpr const char* kConfig = R"(
workers: 1
log:
  level: warn
srt:
  enabled: false
apps:
  live:
    play_wait_ms: 0
    reconnect_grace_ms: 0
    viewer_audio_hold_ms: 0
    hls:
      enabled: false
  wait:
    play_wait_ms: 5000
    reconnect_grace_ms: 0
    viewer_audio_hold_ms: 0
    hls:
      enabled: false
)";

// Everything the origin serves, plus the test's own routes: an echo route and
// a redirect.
std::shared_ptr<const origin::http::Router> test_routes(origin::Origin& o) {
  auto r = origin::build_routes(o);
  r->add("POST", "/echo", [](origin::http::ExchangeRef ex) {
    const auto& req = ex->request();
    ex->respond(200, {{"Content-Type", "application/octet-stream"}, {"X-Echo-Method", req.method},
                      {"X-Echo-Header", std::string(req.header("x-test"))}},
                req.body);
  });
  r->add("GET", "/moved", [](origin::http::ExchangeRef ex) {
    ex->respond(302, {{"Location", "/elsewhere"}}, std::string("moved"));
  });
  return r;
}

}  // namespace

TestOrigin::TestOrigin(std::shared_ptr<const core::TlsContext> tls) {
  spdlog::set_level(spdlog::level::warn);  // what log.level does in weir
  auto cfg = core::load_config_text(kConfig, nullptr);
  REQUIRE(cfg.is_ok());
  cfg_ = std::move(*cfg);
  origin_ = std::make_unique<origin::Origin>(cfg_, loops_);
  auto router = test_routes(*origin_);
  const int rtmp_fd = loop_listener_fd(rtmp_port);
  const int http_fd = loop_listener_fd(http_port);
  const int rtmps_fd = tls ? loop_listener_fd(rtmps_port) : -1;
  const int https_fd = tls ? loop_listener_fd(https_port) : -1;
  auto https_ctx = std::make_shared<const origin::http::ServerContext>(origin::http::ServerContext{cfg_.http, router});
  std::string failure;
  loops_.start([&](core::Loop& loop) {
    origin_->at(loop.index()).start();
    core::Status err;
    origin::Origin& o = *origin_;
    // What RtmpServer::start does (its per-loop object lives for the process;
    // here the listener alone, which the loop frees at shutdown).
    bool ok = origin::http::HttpServer::start(loop, http_fd, cfg_.http, router, 0, err) &&
              core::TcpListener::open(loop, "rtmp", rtmp_fd, 0, [&loop, &o](core::TcpConn* c) {
                ingest::rtmp::RtmpSession::accept(loop, o, c);
              }, err);
    if (ok && tls) {
      ok = core::TcpListener::open(loop, "rtmps", rtmps_fd, 0, [&loop, &o, tls](core::TcpConn* c) {
             if (!c->start_tls_server(tls)) return c->close();
             ingest::rtmp::RtmpSession::accept(loop, o, c);
           }, err) &&
           core::TcpListener::open(loop, "https", https_fd, 0, [tls, https_ctx](core::TcpConn* c) {
             if (!c->start_tls_server(tls)) return c->close();
             origin::http::HttpConnection::start(c, https_ctx);
           }, err);
    }
    if (!ok) failure = err.message();
  });
  REQUIRE(failure.empty());
}

TestOrigin::~TestOrigin() {
  origin_->registry().end_all("test over");
  loops_.stop();
  origin_.reset();
}

std::string TestOrigin::rtmp_url(const std::string& path) const {
  return "rtmp://127.0.0.1:" + std::to_string(rtmp_port) + "/" + path;
}
std::string TestOrigin::http_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(http_port) + path;
}
std::string TestOrigin::rtmps_url(const std::string& path) const {
  return "rtmps://localhost:" + std::to_string(rtmps_port) + "/" + path;
}
std::string TestOrigin::https_url(const std::string& path) const {
  return "https://localhost:" + std::to_string(https_port) + path;
}

void TestOrigin::stall(uint64_t ms) {
  REQUIRE(loops_.at(0).post([ms] { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }));
}

}  // namespace weir::test
