#include "core/host_pattern.h"

#include <cctype>

namespace weir::core {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::string check_host_pattern(std::string_view p) {
  if (p.empty()) return "empty pattern";
  if (p.size() > kMaxHostPatternText) return "longer than 253 characters";
  if (p.front() == '[') {
    if (p.back() != ']' || p.size() < 3) return "unbalanced brackets";
    for (char c : p.substr(1, p.size() - 2))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
        return "an IPv6 literal holds only hex digits, ':' and '.'";
    return "";
  }
  std::string_view host = p;
  if (host.substr(0, 2) == "*.") host.remove_prefix(2);
  if (host.empty()) return "nothing after \"*.\"";
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return "empty label (\"..\" or a leading/trailing '.')";
      label = 0;
      continue;
    }
    if (c == '*') return "'*' is allowed only as a leading \"*.\"";
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return std::string("character '") + c + "' is not allowed in a host name (no scheme, port or path)";
    if (++label > 63) return "a label is longer than 63 characters";
  }
  if (label == 0) return "empty label (\"..\" or a leading/trailing '.')";
  return "";
}

bool host_pattern_matches(std::string_view pattern, std::string_view host) {
  if (host.empty()) return false;
  if (pattern.substr(0, 2) == "*.") {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && iequal(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequal(pattern, host);
}

std::string_view url_host(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return {};
  for (char c : url.substr(0, sep))
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) return {};
  std::string_view rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));  // the authority
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string_view() : rest.substr(0, close + 1);
  }
  return rest.substr(0, rest.find(':'));
}

}  // namespace weir::core
