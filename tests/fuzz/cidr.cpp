// Fuzz target: access-rule text from the config and the environment
// (core/cidr.h: addresses and CIDR ranges) and the Referer/Origin headers
// players send (core/host_pattern.h: url_host, pattern checks and matching).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/cidr.h"
#include "core/host_pattern.h"

using namespace weir::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The input is "RULE\nADDRESS" (or just a rule).
  size_t nl = in.find('\n');
  std::string_view rule = in.substr(0, nl);
  std::string_view addr = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  auto c = parse_cidr(rule);
  if (c) {
    if (c->prefix > 128) __builtin_trap();
    if (!c->contains(c->base)) __builtin_trap();  // a range holds its own base
    auto again = parse_cidr(c->to_string());       // what we print parses back the same
    if (!again || again->base != c->base || again->prefix != c->prefix) __builtin_trap();
  }
  if (auto ip = parse_ip(addr)) {
    auto back = parse_ip(ip->to_string());
    if (!back || !(*back == *ip)) __builtin_trap();
    if (c) (void)c->contains(*ip);
    auto host = parse_cidr(ip->to_string());  // a bare address is a full-length range holding just it
    if (!host || host->prefix != 128 || !host->contains(*ip)) __builtin_trap();
  }

  // Referer/Origin: the host taken out must lie inside the text and be one
  // a pattern can match.
  std::string_view h = url_host(in);
  if (!h.empty() && (h.data() < in.data() || h.data() + h.size() > in.data() + in.size())) __builtin_trap();
  if (check_host_pattern(rule).empty()) {
    (void)host_pattern_matches(rule, h);
    if (rule.substr(0, 2) != "*." && !host_pattern_matches(rule, rule)) __builtin_trap();
  }
  return 0;
}
