#include "protocol/http_range.h"

#include <optional>

namespace weir::protocol {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A run of digits as a number; kHuge when it does not fit in 64 bits. Leading
// zeros are allowed (1*DIGIT) and do not count towards the size.
constexpr uint64_t kHuge = UINT64_MAX;

uint64_t to_number(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return kHuge;
    v = v * 10 + d;
  }
  return v;
}

// The digits without leading zeros, for exact comparison of huge numbers.
std::string_view significant(std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  return digits;
}

// a < b for decimal digit strings of any length.
bool less_digits(std::string_view a, std::string_view b) {
  a = significant(a);
  b = significant(b);
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

struct Spec {
  bool suffix = false;       // "-n"
  std::string_view first;    // digits (int-range)
  std::string_view last;     // digits or empty (int-range); the length (suffix)
};

// One range-spec of the bytes unit: int-range or suffix-range. nullopt when
// malformed (other-range is not defined for bytes; last < first is invalid).
std::optional<Spec> parse_spec(std::string_view s) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  Spec spec;
  std::string_view a = s.substr(0, dash), b = s.substr(dash + 1);
  for (char c : a)
    if (!is_digit(c)) return std::nullopt;
  for (char c : b)
    if (!is_digit(c)) return std::nullopt;
  if (a.empty()) {
    if (b.empty()) return std::nullopt;  // "-"
    spec.suffix = true;
    spec.last = b;
    return spec;
  }
  spec.first = a;
  spec.last = b;
  if (!b.empty() && less_digits(b, a)) return std::nullopt;
  return spec;
}

}  // namespace

HttpRange parse_http_range(std::string_view value, uint64_t size) {
  using Kind = HttpRange::Kind;
  value = trim_ows(value);
  if (value.empty()) return {};
  size_t eq = value.find('=');
  if (eq == std::string_view::npos || eq == 0) return {Kind::kMalformed};
  std::string_view unit = value.substr(0, eq);
  for (char c : unit)
    if (!is_tchar(c)) return {Kind::kMalformed};
  if (!iequals(unit, "bytes")) return {};  // a unit we do not support: ignore the header

  // range-set = 1#range-spec: elements separated by OWS "," OWS; empty
  // elements are allowed and skipped (§5.6.1), at least one must be there.
  std::string_view set = value.substr(eq + 1);
  if (!set.empty() && is_ows(set.front())) return {Kind::kMalformed};  // "bytes= 0-1"
  std::optional<Spec> only;
  size_t count = 0;
  while (true) {
    size_t comma = set.find(',');
    std::string_view item = trim_ows(set.substr(0, comma));
    if (!item.empty()) {
      auto spec = parse_spec(item);
      if (!spec) return {Kind::kMalformed};
      if (++count == 1) only = spec;
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (count == 0) return {Kind::kMalformed};
  if (count > 1) return {};  // several ranges: the whole body (see the header)

  const Spec& s = *only;
  if (s.suffix) {
    uint64_t n = to_number(s.last);
    if (n == 0) return {Kind::kUnsatisfiable};
    if (size == 0) return {};  // the whole, empty, body
    uint64_t first = n >= size ? 0 : size - n;
    return {Kind::kSatisfiable, first, size - 1};
  }
  uint64_t first = to_number(s.first);
  if (first >= size) return {Kind::kUnsatisfiable};  // also every range when size is 0
  uint64_t last = s.last.empty() ? size - 1 : to_number(s.last);
  if (last >= size) last = size - 1;
  return {Kind::kSatisfiable, first, last};
}

std::string content_range(uint64_t first, uint64_t last, uint64_t size) {
  return "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size);
}

std::string content_range_unsatisfied(uint64_t size) { return "bytes */" + std::to_string(size); }

}  // namespace weir::protocol
