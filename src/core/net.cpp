#include "core/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace weir::core {

uint16_t SocketAddress::port() const {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t p) {
  if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(p);
  if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(p);
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "?";
}

namespace {
// "[V6]:PORT" or "HOST:PORT" into its host and port text; `host` is left
// alone when there is no ':' (all of `text` is the port).
Status split_address_text(std::string_view text, std::string_view& host, std::string_view& port_s) {
  port_s = text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Status::errorf("'{}' is not HOST:PORT", text);
    host = text.substr(1, close - 1);
    port_s = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) return Status::errorf("'{}': write IPv6 addresses as [ADDR]:PORT", text);
    host = text.substr(0, colon);
    port_s = text.substr(colon + 1);
  }
  return Status::ok();
}
}  // namespace

Result<SocketAddress> parse_listen_address(std::string_view text) {
  std::string_view host = "0.0.0.0", port_s;
  if (Status st = split_address_text(text, host, port_s); !st) return st;
  if (host.empty() && text.front() == ':') host = "0.0.0.0";  // ":PORT"
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (port_s.empty() || ec != std::errc() || end != port_s.data() + port_s.size() || port > 65535)
    return Status::errorf("'{}': port must be a number from 0 to 65535", text);
  auto a = numeric_address(host, uint16_t(port));
  if (!a) return Status::errorf("'{}': host must be a numeric IP address (names are not resolved)", text);
  return a;
}

Result<HostPort> split_host_port(std::string_view text) {
  std::string_view host, port_s;
  if (text.find(':') == std::string_view::npos) return Status::errorf("'{}' is not HOST:PORT", text);
  if (Status st = split_address_text(text, host, port_s); !st) return st;
  if (host.empty() || host.size() > 253 || host.find_first_of(" \t/?#@[]") != std::string_view::npos)
    return Status::errorf("'{}': missing or malformed host", text);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (port_s.empty() || ec != std::errc() || end != port_s.data() + port_s.size() || port == 0 || port > 65535)
    return Status::errorf("'{}': port must be a number from 1 to 65535", text);
  return HostPort{std::string(host), uint16_t(port)};
}

Result<SocketAddress> numeric_address(std::string_view host, uint16_t port) {
  if (host == "localhost") host = "127.0.0.1";
  SocketAddress a;
  std::string h(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    a.len = sizeof(sockaddr_in6);
  } else {
    return Status::errorf("host '{}' is not a numeric IP address (names are not resolved)", host.substr(0, 64));
  }
  a.set_port(port);
  return a;
}

Result<int> open_tcp_listener(const SocketAddress& addr, int backlog) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::errorf("socket: {}", std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int e = errno;
    ::close(fd);
    return Status::errorf("SO_REUSEPORT: {}", std::strerror(e));
  }
  if (addr.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr.sa(), addr.len) != 0) {
    int e = errno;
    ::close(fd);
    return Status::errorf("bind {}: {}", addr.to_string(), std::strerror(e));
  }
  if (::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    return Status::errorf("listen {}: {}", addr.to_string(), std::strerror(e));
  }
  return fd;
}

Result<SocketAddress> local_address_of(int fd) {
  SocketAddress a;
  a.len = sizeof(a.ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a.ss), &a.len) != 0)
    return Status::errorf("getsockname: {}", std::strerror(errno));
  return a;
}

bool is_loopback(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.ss);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace weir::core
