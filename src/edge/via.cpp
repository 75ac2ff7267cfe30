#include "edge/via.h"

#include <algorithm>

#include <openssl/rand.h>

#include <random>

#include "core/config_schema.h"

namespace weir::edge {

core::Result<std::vector<std::string>> parse_via(std::string_view via) {
  std::vector<std::string> out;
  while (!via.empty()) {
    const size_t comma = via.find_first_of(",+");
    std::string_view name = via.substr(0, comma);
    if (!core::config::is_node_name(name))
      return core::Status::errorf("{}: '{}' is not a node name", kViaParam, name.substr(0, 64));
    out.emplace_back(name);
    if (comma == std::string_view::npos) break;
    via.remove_prefix(comma + 1);
    if (via.empty()) return core::Status::errorf("{}: empty node name at the end", kViaParam);
  }
  return out;
}

std::string via_with(std::string_view via, std::string_view node) {
  std::string out(via);
  if (!out.empty()) out += ',';
  out += node;
  return out;
}

std::string url_with_via(std::string_view url, std::string_view chain) {
  if (url.rfind("srt://", 0) == 0) return srt_url_with_via(url, chain);
  std::string out(url);
  out += out.find('?') == std::string::npos ? '?' : '&';
  out += kViaParam;
  out += '=';
  out += chain;
  return out;
}

std::string srt_url_with_via(std::string_view url, std::string_view chain) {
  std::string out(url);
  const size_t q = out.find('?');
  if (q == std::string::npos) return out;
  size_t key = out.find("streamid=", q);
  while (key != std::string::npos && out[key - 1] != '?' && out[key - 1] != '&') key = out.find("streamid=", key + 1);
  if (key == std::string::npos) return out;
  const size_t value = key + 9;
  const size_t end = std::min(out.find('&', value), out.size());
  std::string joined(chain);
  std::replace(joined.begin(), joined.end(), ',', '+');
  if (out.compare(value, 4, "#!::") == 0) {
    out.insert(end, std::string(",") + std::string(kViaParam) + "=" + joined);
  } else if (out.compare(value, 3, "%23") == 0) {
    std::string enc;
    for (char c : joined) enc += c == '+' ? std::string("%2B") : std::string(1, c);
    out.insert(end, std::string("%2C") + std::string(kViaParam) + "%3D" + enc);
  }
  return out;
}

std::string random_node_id() {
  unsigned char b[6];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::random_device rd;
    for (unsigned char& c : b) c = static_cast<unsigned char>(rd());
  }
  static const char* const kHex = "0123456789abcdef";
  std::string id = "weir-";
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

}  // namespace weir::edge
