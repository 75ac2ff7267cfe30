// IP addresses and CIDR ranges for access rules (apps.<app>.access): pure
// parsing and matching, no I/O and no name lookups.
//
// Every address is held as 16 bytes: IPv4 as its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d) and an IPv4 range's prefix as prefix + 96, so an IPv4 rule
// matches a client that arrives as ::ffff:a.b.c.d on a dual-stack socket, and
// the other way round (RFC 4291 2.5.5.2).
//
// Accepted text: "a.b.c.d", "a.b.c.d/N" (N 0..32), an IPv6 address in any
// RFC 4291 2.2 form ("::1", "2001:db8::/32", "::ffff:10.0.0.1"), "ADDR/N"
// (N 0..128), optionally in brackets ("[::1]", "[::1]/128"). A bare address
// is a /32 (IPv4) or /128 (IPv6). Host bits set below the prefix are refused
// ("10.0.0.1/8" is a typo more often than it is meant), as are zone ids,
// names, and text longer than kMaxCidrText.
//
// Threads: values only; a CidrList is read-only once built (shared by every
// loop through the config without locks).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace weir::core {

inline constexpr size_t kMaxCidrText = 64;

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 as ::ffff:a.b.c.d

  bool is_v4() const;  // an IPv4(-mapped) address
  // "1.2.3.4" for IPv4 and IPv4-mapped addresses, RFC 5952 text for IPv6.
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

// A numeric IPv4 or IPv6 address (no prefix, no brackets, no zone).
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
  IpAddress base;     // host bits below `prefix` are zero
  uint8_t prefix = 0;  // 0..128, over the 16-byte form (IPv4 /N is 96 + N)

  bool contains(const IpAddress& a) const;
  // Back to the text form ("10.0.0.0/8", "2001:db8::/32").
  std::string to_string() const;
};

// Parses one entry (see the file comment). The error says what is wrong.
Result<Cidr> parse_cidr(std::string_view text);

// A list of ranges, matched in order (any one matches). Iterating it yields
// each entry's canonical text (Cidr::to_string), so config visitors that
// print a list of strings (JSON dumps) print it as one.
class CidrList {
 public:
  using value_type = std::string;
  using const_iterator = std::vector<std::string>::const_iterator;
  using iterator = const_iterator;

  // Appends one entry; on error the list is unchanged.
  Status add(std::string_view text);
  bool contains(const IpAddress& a) const;
  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }
  const std::vector<Cidr>& ranges() const { return ranges_; }
  const_iterator begin() const { return text_.begin(); }
  const_iterator end() const { return text_.end(); }

 private:
  std::vector<Cidr> ranges_;
  std::vector<std::string> text_;  // ranges_[i].to_string()
};

}  // namespace weir::core
