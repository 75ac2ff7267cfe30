#include "core/srt_url.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace weir::core {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode(std::string_view key, std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return Status::errorf("{}: incomplete %-escape", key);
    const int a = hex(v[i + 1]), b = hex(v[i + 2]);
    if (a < 0 || b < 0) return Status::errorf("{}: bad %-escape", key);
    const char c = char(a * 16 + b);
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return Status::errorf("{}: holds a control character", key);
    out += c;
    i += 2;
  }
  return out;
}

bool parse_int(std::string_view s, int64_t& v) {
  if (s.empty() || s.size() > 12) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::string SrtUrl::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("srt://{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

Result<SrtUrl> parse_srt_url(std::string_view text) {
  if (text.size() > kSrtUrlMaxSize) return Status::errorf("longer than {} bytes", kSrtUrlMaxSize);
  if (text.substr(0, 6) != "srt://") return Status::error("not an srt:// URL");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return Status::error("holds spaces or control characters");
  std::string_view rest = text.substr(6);
  const size_t q = rest.find('?');
  std::string_view auth = rest.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  if (!auth.empty() && auth.back() == '/') auth.remove_suffix(1);  // srt://h:p/?streamid=... (a path is not used)
  if (auth.find('/') != std::string_view::npos) return Status::error("has a path (SRT names the stream in ?streamid=)");
  SrtUrl u;
  std::string_view port;
  if (!auth.empty() && auth.front() == '[') {
    const size_t close = auth.find(']');
    if (close == std::string_view::npos) return Status::error("has an unclosed '[' in the host");
    u.host = std::string(auth.substr(1, close - 1));
    if (close + 1 >= auth.size() || auth[close + 1] != ':') return Status::error("needs a port: srt://HOST:PORT");
    port = auth.substr(close + 2);
  } else {
    const size_t colon = auth.rfind(':');
    if (colon == std::string_view::npos) return Status::error("needs a port: srt://HOST:PORT");
    u.host = std::string(auth.substr(0, colon));
    if (u.host.find(':') != std::string::npos) return Status::error("has an IPv6 host without brackets");
    port = auth.substr(colon + 1);
  }
  if (u.host.empty()) return Status::error("has no host");
  if (u.host.size() > 253) return Status::error("has a host name longer than 253 characters");
  for (char c : u.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':'))
      return Status::errorf("has a bad character '{}' in the host", c);
  int64_t p = 0;
  if (!parse_int(port, p) || p < 1 || p > 65535) return Status::errorf("has a bad port '{}'", port.substr(0, 16));
  u.port = uint16_t(p);

  bool seen_sid = false, seen_pass = false, seen_keylen = false, seen_latency = false, seen_mode = false;
  while (!query.empty()) {
    const size_t eq = query.find('=');
    const size_t amp0 = query.find('&');
    if (eq == std::string_view::npos || (amp0 != std::string_view::npos && amp0 < eq)) {
      std::string_view item = query.substr(0, amp0);
      if (item.empty() && amp0 != std::string_view::npos) {
        query.remove_prefix(amp0 + 1);
        continue;
      }
      return Status::errorf("query item '{}' has no value", item.substr(0, 32));
    }
    std::string_view key = query.substr(0, eq);
    // A value runs to the next '&' (an '&' inside a value is written %26).
    const size_t amp = query.find('&', eq + 1);
    std::string_view raw = query.substr(eq + 1, amp == std::string_view::npos ? std::string_view::npos : amp - eq - 1);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto value = decode(key, raw);
    if (!value) return value.status();
    auto once = [&](bool& seen) -> Status {
      if (seen) return Status::errorf("query key '{}' given twice", key);
      seen = true;
      return Status::ok();
    };
    if (key == "streamid") {
      if (Status st = once(seen_sid); !st) return st;
      if (value->size() > 512) return Status::error("streamid: longer than 512 bytes");
      u.streamid = std::move(*value);
    } else if (key == "passphrase") {
      if (Status st = once(seen_pass); !st) return st;
      if (value->size() < 10 || value->size() > 79) return Status::error("passphrase: must be 10 to 79 characters");
      u.passphrase = std::move(*value);
    } else if (key == "pbkeylen") {
      if (Status st = once(seen_keylen); !st) return st;
      int64_t v = 0;
      if (!parse_int(*value, v) || (v != 0 && v != 16 && v != 24 && v != 32))
        return Status::error("pbkeylen: must be 0, 16, 24 or 32");
      u.pbkeylen = int(v);
    } else if (key == "latency") {
      if (Status st = once(seen_latency); !st) return st;
      int64_t v = 0;
      if (!parse_int(*value, v) || v < 0 || v > 60000) return Status::error("latency: must be 0 to 60000 (ms)");
      u.latency_ms = int(v);
    } else if (key == "mode") {
      if (Status st = once(seen_mode); !st) return st;
      if (*value != "caller") return Status::error("mode: only 'caller' (Weir connects out)");
    } else {
      return Status::errorf("unknown query key '{}' (streamid, passphrase, pbkeylen, latency, mode are known)",
                            key.substr(0, 32));
    }
  }
  if (u.pbkeylen != 0 && u.passphrase.empty()) return Status::error("pbkeylen: needs a passphrase");
  return u;
}

}  // namespace weir::core
