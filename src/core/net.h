// Socket addresses and listening sockets. Numeric addresses only: nothing here
// resolves names, so nothing here can block a loop on DNS.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace weir::core {

struct SocketAddress {
  sockaddr_storage ss{};
  socklen_t len = 0;

  int family() const { return ss.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t p);
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  std::string to_string() const;  // "1.2.3.4:5" or "[::1]:5"
};

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
bool is_loopback(const SocketAddress& a);

// A numeric IPv4/IPv6 host (or "localhost") and a port; names are refused.
Result<SocketAddress> numeric_address(std::string_view host, uint16_t port);

// Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (HOST defaults to 0.0.0.0).
// HOST must be a numeric IPv4/IPv6 address or "localhost".
Result<SocketAddress> parse_listen_address(std::string_view text);

// Splits "HOST:PORT" or "[V6]:PORT" of an outbound address (HOST may be a
// name, resolved later off the loop by core/resolver.h); port 1..65535.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> split_host_port(std::string_view text);

// Opens a non-blocking listening TCP socket with SO_REUSEADDR and SO_REUSEPORT,
// so every loop can own one listener on the same port and the kernel spreads
// connections between them. Returns the fd.
Result<int> open_tcp_listener(const SocketAddress& addr, int backlog);
// Same for UDP (for SRT bridges that need a pre-bound port check).
Result<SocketAddress> local_address_of(int fd);

}  // namespace weir::core
