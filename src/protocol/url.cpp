#include "protocol/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace weir::protocol {

using core::Result;
using core::Status;

std::string Url::target() const { return query.empty() ? path : path + "?" + query; }

std::string Url::authority() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::to_string() const { return scheme + "://" + authority() + target(); }

bool Url::secure() const { return scheme == "rtmps" || scheme == "https" || scheme == "wss"; }

Result<core::SocketAddress> Url::address() const {
  auto a = core::numeric_address(host, port);
  if (!a) return Status::errorf("url: {}", a.error());
  return a;
}

bool Url::is_loopback() const {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

Result<Url> parse_url(std::string_view text) {
  Url u;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return Status::errorf("url '{}': missing scheme://", text);
  u.scheme.assign(text.substr(0, sep));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  uint16_t default_port = 0;
  if (u.scheme == "rtmp") default_port = 1935;
  else if (u.scheme == "http" || u.scheme == "ws") default_port = 80;
  else if (u.scheme == "rtmps" || u.scheme == "https" || u.scheme == "wss") default_port = 443;
  else if (u.scheme != "srt")
    return Status::errorf("url '{}': scheme '{}' is not rtmp(s), http(s), ws(s) or srt", text, u.scheme);
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find_first_of("/?");
  std::string_view auth = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (auth.empty()) return Status::errorf("url '{}': missing host", text);
  if (auth.find('@') != std::string_view::npos) return Status::errorf("url '{}': user info is not supported", text);
  std::string_view host, port;
  if (auth.front() == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return Status::errorf("url '{}': unterminated [v6 address]", text);
    host = auth.substr(1, close - 1);
    std::string_view after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::errorf("url '{}': junk after ]", text);
      port = after.substr(1);
    }
  } else {
    size_t colon = auth.rfind(':');
    host = auth.substr(0, colon);
    if (colon != std::string_view::npos) port = auth.substr(colon + 1);
  }
  if (host.empty()) return Status::errorf("url '{}': missing host", text);
  // RFC 3986 3.2.2: a reg-name or IPv4 address (unreserved, sub-delims,
  // pct-encoded), or an IP literal in brackets (hex digits, ':', '.', and a
  // zone after '%').
  const bool literal = auth.front() == '[';
  for (unsigned char c : host) {
    bool ok = std::isalnum(c) || (literal ? std::strchr(":.%-_~", c) != nullptr
                                          : std::strchr("-._~%!$&'()*+,;=", c) != nullptr);
    if (!ok || c == 0) return Status::errorf("url '{}': bad character in host", text);
  }
  if (literal && host.find(':') == std::string_view::npos)
    return Status::errorf("url '{}': [{}] is not an IPv6 address", text, host);
  u.host.assign(host);
  if (port.empty()) {
    if (!default_port) return Status::errorf("url '{}': {} needs a port", text, u.scheme);
    u.port = default_port;
  } else {
    unsigned long p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return Status::errorf("url '{}': bad port '{}'", text, port);
      p = p * 10 + unsigned(c - '0');
      if (p > 65535) return Status::errorf("url '{}': port {} out of range", text, port);
    }
    if (p == 0) return Status::errorf("url '{}': port 0", text);
    u.port = uint16_t(p);
  }
  size_t q = tail.find('?');
  u.path.assign(tail.substr(0, q));
  if (q != std::string_view::npos) u.query.assign(tail.substr(q + 1));
  if (u.path.empty()) u.path = "/";
  return u;
}

Result<std::string> resolve_target(const Url& base, std::string_view ref) {
  if (ref.empty()) return Status::error("empty playlist URI");
  if (ref.find("://") != std::string_view::npos) {
    auto u = parse_url(ref);
    if (!u) return u.status();
    if (u->scheme != base.scheme || u->authority() != base.authority())
      return Status::errorf("playlist URI '{}' leaves {}://{}", ref, base.scheme, base.authority());
    return u->target();
  }
  if (ref.front() == '/') return std::string(ref);
  size_t dir_end = base.path.rfind('/');
  std::string out = base.path.substr(0, dir_end == std::string::npos ? 0 : dir_end + 1);
  if (out.empty()) out = "/";
  // Collapse "./" and "../" segments at the front of ref.
  while (true) {
    if (ref.substr(0, 2) == "./") {
      ref.remove_prefix(2);
    } else if (ref.substr(0, 3) == "../") {
      ref.remove_prefix(3);
      if (out.size() > 1) {
        size_t p = out.rfind('/', out.size() - 2);
        out.resize(p == std::string::npos ? 1 : p + 1);
      }
    } else {
      break;
    }
  }
  out.append(ref);
  return out;
}

Result<RtmpTarget> rtmp_target(const Url& url) {
  if (url.scheme != "rtmp" && url.scheme != "rtmps")
    return Status::errorf("url '{}' is not rtmp:// or rtmps://", url.to_string());
  std::string all = url.path.substr(url.path.empty() || url.path.front() != '/' ? 0 : 1);
  if (!url.query.empty()) all += "?" + url.query;
  size_t slash = all.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= all.size())
    return Status::errorf("rtmp url '{}': want {}://host[:port]/app/stream", url.to_string(), url.scheme);
  RtmpTarget out;
  out.app = all.substr(0, slash);
  out.stream = all.substr(slash + 1);
  out.tc_url = url.scheme + "://" + url.authority() + "/" + out.app;
  return out;
}

}  // namespace weir::protocol
