// Host patterns for the players' Referer/Origin allow list
// (apps.<app>.access.referers): "example.com" matches that host only;
// "*.example.com" matches any subdomain of it (www.example.com,
// a.b.example.com) but not example.com itself. Matching ignores case. Pure:
// no I/O, no name lookups.
//
// Threads: functions only.
#pragma once

#include <string>
#include <string_view>

namespace weir::core {

inline constexpr size_t kMaxHostPatternText = 253;  // the longest DNS name (RFC 1035 2.3.4)

// Why `pattern` is not a valid host pattern, or "" when it is: letters,
// digits, '-', '.' (an IPv6 literal in brackets is allowed too), optionally
// led by "*.", no empty labels.
std::string check_host_pattern(std::string_view pattern);

bool host_pattern_matches(std::string_view pattern, std::string_view host);

// The host of an absolute URL as sent in Referer and Origin headers
// ("https://user@www.example.com:8443/p?q" -> "www.example.com",
// "http://[::1]:80/" -> "[::1]"); "" when the text has no "scheme://host".
std::string_view url_host(std::string_view url);

}  // namespace weir::core
