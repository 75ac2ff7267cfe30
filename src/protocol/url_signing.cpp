#include "protocol/url_signing.h"

#include <openssl/crypto.h>

#include <fmt/format.h>

#include "protocol/digest.h"

namespace weir::protocol {

namespace {

// `s` of exactly `size` hex digits, returned in lower case; "" otherwise.
std::string lower_hex(std::string_view s, size_t size) {
  if (s.size() != size) return {};
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
    else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return out;
}

// Parses 1..max_digits digits in `base` (10 or 16); false otherwise.
bool parse_unsigned(std::string_view s, int base, size_t max_digits, int64_t& out) {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * uint64_t(base) + uint64_t(d);
    if (v > uint64_t(INT64_MAX)) return false;
  }
  out = int64_t(v);
  return true;
}

bool names_fit(std::string_view app, std::string_view stream, std::string_view ip) {
  return app.size() <= kMaxSignedNameBytes && stream.size() <= kMaxSignedNameBytes &&
         ip.size() <= kMaxSignedNameBytes;
}

// Compares `given` (lower-case hex) with the MAC of every key; all keys are
// tried whatever matched.
template <class MacFn>
bool any_key_matches(const std::vector<std::string>& keys, const std::string& given, MacFn&& mac) {
  bool ok = false;
  for (const std::string& k : keys) ok |= constant_time_equal(mac(k), given);
  return ok;
}

std::string session_message(std::string_view app, std::string_view stream, int64_t expires, std::string_view ip) {
  std::string m = fmt::format("hls-session\n{}\n{}\n{}", app, stream, expires);
  if (!ip.empty()) (m += '\n') += ip;
  return m;
}

}  // namespace

std::string_view sign_direction_name(SignDirection d) { return d == SignDirection::kPublish ? "publish" : "play"; }

std::string_view token_verdict_name(TokenVerdict v) {
  switch (v) {
    case TokenVerdict::kOk: return "ok";
    case TokenVerdict::kMissing: return "missing";
    case TokenVerdict::kMalformed: return "malformed";
    case TokenVerdict::kExpired: return "expired";
    case TokenVerdict::kInvalid: return "invalid";
  }
  return "?";
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string url_token_message(SignDirection d, std::string_view app, std::string_view stream, int64_t expires,
                              std::string_view ip) {
  std::string m = fmt::format("{}\n{}\n{}\n{}", sign_direction_name(d), app, stream, expires);
  if (!ip.empty()) (m += '\n') += ip;
  return m;
}

std::string make_url_token(std::string_view key, SignDirection d, std::string_view app, std::string_view stream,
                           int64_t expires, std::string_view ip) {
  return hmac_sha256_hex(key, url_token_message(d, app, stream, expires, ip));
}

TokenResult verify_url_token(const std::vector<std::string>& keys, SignDirection d, std::string_view app,
                             std::string_view stream, std::string_view expires, std::string_view token,
                             std::string_view ip, int64_t now) {
  TokenResult r;
  if (token.empty()) return r;  // kMissing
  r.verdict = TokenVerdict::kMalformed;
  std::string given = lower_hex(token, kUrlTokenHexSize);
  if (given.empty() || !parse_unsigned(expires, 10, kMaxExpiresDigits, r.expires) || !names_fit(app, stream, ip))
    return r;
  if (r.expires < now) {
    r.verdict = TokenVerdict::kExpired;
    return r;
  }
  const std::string msg = url_token_message(d, app, stream, r.expires, ip);
  r.verdict = any_key_matches(keys, given, [&](const std::string& k) { return hmac_sha256_hex(k, msg); })
                  ? TokenVerdict::kOk
                  : TokenVerdict::kInvalid;
  return r;
}

std::string tencent_tx_time(int64_t expires) { return fmt::format("{:X}", uint64_t(expires < 0 ? 0 : expires)); }

std::string make_tencent_secret(std::string_view key, std::string_view stream, std::string_view tx_time) {
  std::string s;
  s.reserve(key.size() + stream.size() + tx_time.size());
  s.append(key).append(stream).append(tx_time);
  return md5_hex(s);
}

TokenResult verify_tencent_token(const std::vector<std::string>& keys, std::string_view stream,
                                 std::string_view tx_time, std::string_view tx_secret, int64_t now) {
  TokenResult r;
  if (tx_secret.empty()) return r;  // kMissing
  r.verdict = TokenVerdict::kMalformed;
  std::string given = lower_hex(tx_secret, kTxSecretHexSize);
  if (given.empty() || !parse_unsigned(tx_time, 16, kMaxTxTimeDigits, r.expires) ||
      stream.size() > kMaxSignedNameBytes)
    return r;
  if (r.expires < now) {
    r.verdict = TokenVerdict::kExpired;
    return r;
  }
  // Signed over txTime as sent (Tencent's documents use upper case; a
  // signer that sent lower case signed lower case).
  r.verdict = any_key_matches(keys, given, [&](const std::string& k) { return make_tencent_secret(k, stream, tx_time); })
                  ? TokenVerdict::kOk
                  : TokenVerdict::kInvalid;
  return r;
}

std::string hls_session_token(std::string_view key, std::string_view app, std::string_view stream, int64_t expires,
                              std::string_view ip) {
  return fmt::format("{}.{}", expires, hmac_sha256_hex(key, session_message(app, stream, expires, ip)));
}

TokenResult verify_hls_session_token(const std::vector<std::string>& keys, std::string_view app,
                                     std::string_view stream, std::string_view token, std::string_view ip,
                                     int64_t now) {
  TokenResult r;
  if (token.empty()) return r;  // kMissing
  r.verdict = TokenVerdict::kMalformed;
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos || !names_fit(app, stream, ip)) return r;
  std::string given = lower_hex(token.substr(dot + 1), kUrlTokenHexSize);
  if (given.empty() || !parse_unsigned(token.substr(0, dot), 10, kMaxExpiresDigits, r.expires)) return r;
  if (r.expires < now) {
    r.verdict = TokenVerdict::kExpired;
    return r;
  }
  const std::string msg = session_message(app, stream, r.expires, ip);
  r.verdict = any_key_matches(keys, given, [&](const std::string& k) { return hmac_sha256_hex(k, msg); })
                  ? TokenVerdict::kOk
                  : TokenVerdict::kInvalid;
  return r;
}

std::string add_param_to_playlist_uris(std::string_view playlist, std::string_view param) {
  std::string out;
  out.reserve(playlist.size() + playlist.size() / 8 + 64);
  auto add_query = [&](std::string_view uri) {
    out.append(uri);
    out += uri.find('?') == std::string_view::npos ? '?' : '&';
    out.append(param);
  };
  while (!playlist.empty()) {
    size_t nl = playlist.find('\n');
    std::string_view line = playlist.substr(0, nl);
    playlist = nl == std::string_view::npos ? std::string_view() : playlist.substr(nl + 1);
    std::string_view eol;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      eol = "\r";
    }
    if (line.empty()) {
    } else if (line.front() != '#') {
      add_query(line);
    } else {
      // Every URI="..." attribute of the tag.
      for (;;) {
        size_t at = line.find("URI=\"");
        if (at == std::string_view::npos) break;
        size_t start = at + 5;
        size_t close = line.find('"', start);
        if (close == std::string_view::npos) break;
        out.append(line.substr(0, start));
        add_query(line.substr(start, close - start));
        line.remove_prefix(close);
      }
      out.append(line);
    }
    out.append(eol);
    if (nl != std::string_view::npos) out += '\n';
  }
  return out;
}

}  // namespace weir::protocol
