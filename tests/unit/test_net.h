// Loopback sockets for tests: a raw listening socket the test thread owns
// (a peer that never accepts, or that a test thread drives by hand), and a
// core listener fd for a loop to take over.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>

#include "core/net.h"

namespace weir::test {

// A blocking TCP socket listening on 127.0.0.1:0 with `backlog`; closed by
// the destructor.
class RawListener {
 public:
  explicit RawListener(int backlog) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, backlog) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
  }
  ~RawListener() { ::close(fd); }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;

  int fd = -1;
  uint16_t port = 0;
  sockaddr_in addr{};
};

// A port on 127.0.0.1 with nobody listening (bound, then released).
inline uint16_t free_port() { return RawListener(1).port; }

// A non-blocking listening fd on 127.0.0.1:0 (core::open_tcp_listener) for
// TcpListener::open or HttpServer::start; sets `port`.
inline int loop_listener_fd(uint16_t& port) {
  auto addr = core::parse_listen_address("127.0.0.1:0");
  REQUIRE(addr.is_ok());
  auto fd = core::open_tcp_listener(*addr, 128);
  REQUIRE(fd.is_ok());
  auto bound = core::local_address_of(*fd);
  REQUIRE(bound.is_ok());
  port = bound->port();
  return *fd;
}

}  // namespace weir::test
