#include "origin/api/api_format.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

namespace weir::origin::api {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kMaxCursorKey = 512;

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string rfc3339_ms(int64_t unix_ms) {
  if (unix_ms <= 0) return {};
  std::time_t secs = std::time_t(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, int(unix_ms % 1000));
}

std::string encode_cursor(std::string_view key) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : key) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> decode_cursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > (kMaxCursorKey * 4 + 2) / 3) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be the zero padding of the last character.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<int64_t> parse_time_ms(std::string_view t) {
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto num = [](std::string_view s) {
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  };
  // Unix seconds, maybe with a fraction.
  {
    size_t dot = t.find('.');
    std::string_view whole = t.substr(0, dot);
    if (digits(whole) && whole.size() <= 12) {
      int64_t ms = num(whole) * 1000;
      if (dot == std::string_view::npos) return ms;
      std::string_view frac = t.substr(dot + 1);
      if (!digits(frac)) return std::nullopt;
      std::string f(frac.substr(0, 3));
      while (f.size() < 3) f += '0';
      return ms + num(f);
    }
  }
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+00:00)
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  for (size_t i : {0u, 5u, 8u, 11u, 14u, 17u})
    if (!digits(t.substr(i, i == 0 ? 4 : 2))) return std::nullopt;
  std::tm tm{};
  tm.tm_year = int(num(t.substr(0, 4))) - 1900;
  tm.tm_mon = int(num(t.substr(5, 2))) - 1;
  tm.tm_mday = int(num(t.substr(8, 2)));
  tm.tm_hour = int(num(t.substr(11, 2)));
  tm.tm_min = int(num(t.substr(14, 2)));
  tm.tm_sec = int(num(t.substr(17, 2)));
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  std::string_view rest = t.substr(19);
  int64_t ms = 0;
  if (!rest.empty() && rest.front() == '.') {
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 1) return std::nullopt;
    std::string f(rest.substr(1, std::min<size_t>(3, n - 1)));
    while (f.size() < 3) f += '0';
    ms = num(f);
    rest = rest.substr(n);
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00") return std::nullopt;
  return int64_t(timegm(&tm)) * 1000 + ms;
}

}  // namespace weir::origin::api
