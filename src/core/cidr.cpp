#include "core/cidr.h"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

namespace weir::core {

namespace {

constexpr uint8_t kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

bool IpAddress::is_v4() const { return std::memcmp(bytes.data(), kV4Prefix, sizeof kV4Prefix) == 0; }

std::string IpAddress::to_string() const {
  char out[INET6_ADDRSTRLEN] = {};
  if (is_v4()) inet_ntop(AF_INET, bytes.data() + 12, out, sizeof out);
  else inet_ntop(AF_INET6, bytes.data(), out, sizeof out);
  return out;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  // inet_pton wants a terminated string; anything longer than the longest
  // IPv6 text (45 characters) is not an address.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (std::memchr(buf, '\0', text.size())) return std::nullopt;  // an embedded NUL
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    std::memcpy(a.bytes.data(), kV4Prefix, sizeof kV4Prefix);
    if (inet_pton(AF_INET, buf, a.bytes.data() + 12) != 1) return std::nullopt;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

bool Cidr::contains(const IpAddress& a) const {
  const size_t whole = prefix / 8;
  if (std::memcmp(base.bytes.data(), a.bytes.data(), whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = uint8_t(0xff << (8 - rest));
  return (base.bytes[whole] & mask) == (a.bytes[whole] & mask);
}

std::string Cidr::to_string() const {
  if (base.is_v4() && prefix >= 96) return fmt::format("{}/{}", base.to_string(), prefix - 96);
  return fmt::format("{}/{}", base.to_string(), prefix);
}

Result<Cidr> parse_cidr(std::string_view text) {
  if (text.empty()) return Status::error("empty address");
  if (text.size() > kMaxCidrText) return Status::errorf("longer than {} characters", kMaxCidrText);
  std::string_view addr = text, len;
  bool has_len = false;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
    has_len = true;
  }
  if (!addr.empty() && addr.front() == '[') {
    if (addr.size() < 2 || addr.back() != ']') return Status::error("unbalanced brackets");
    addr = addr.substr(1, addr.size() - 2);
    if (addr.find(':') == std::string_view::npos) return Status::error("brackets around an IPv4 address");
  }
  if (addr.find('%') != std::string_view::npos) return Status::error("zone ids (%) are not allowed");
  std::optional<IpAddress> ip = parse_ip(addr);
  if (!ip) return Status::error("not a numeric IPv4 or IPv6 address");
  // An address written in IPv4 form takes an IPv4 prefix length.
  const bool v4_text = addr.find(':') == std::string_view::npos;
  const unsigned max_len = v4_text ? 32 : 128;
  unsigned n = max_len;
  if (has_len) {
    if (len.empty() || len.size() > 3) return Status::error("prefix length must be a number");
    n = 0;
    for (char c : len) {
      if (c < '0' || c > '9') return Status::error("prefix length must be a number");
      n = n * 10 + unsigned(c - '0');
    }
    if (n > max_len) return Status::errorf("prefix length {} is over {}", n, max_len);
  }
  Cidr c;
  c.base = *ip;
  c.prefix = uint8_t(v4_text ? 96 + n : n);
  // Host bits below the prefix must be zero.
  for (unsigned bit = c.prefix; bit < 128; ++bit)
    if (c.base.bytes[bit / 8] & (0x80 >> (bit % 8)))
      return Status::errorf("host bits set below the /{} prefix (did you mean {}?)", n,
                            [&] {
                              Cidr fixed = c;
                              for (unsigned b = c.prefix; b < 128; ++b) fixed.base.bytes[b / 8] &= uint8_t(~(0x80 >> (b % 8)));
                              return fixed.to_string();
                            }());
  return c;
}

Status CidrList::add(std::string_view text) {
  auto c = parse_cidr(text);
  if (!c) return c.status();
  ranges_.push_back(*c);
  text_.push_back(c->to_string());
  return Status::ok();
}

bool CidrList::contains(const IpAddress& a) const {
  for (const Cidr& c : ranges_)
    if (c.contains(a)) return true;
  return false;
}

}  // namespace weir::core
