// Signed URLs: the token maths behind per-app publish and play keys (no I/O,
// no clock: `now` is passed in). The values checked come from URL queries,
// RTMP app/stream-name queries and SRT stream-id keys, i.e. from the wire:
// every length is bounded before use and nothing is parsed beyond it.
//
// Weir tokens (mode weir):
//   expires = Unix seconds of the expiry, decimal (at most 12 digits)
//   token   = lowercase hex HMAC-SHA256(key, "<direction>\n<app>\n<stream>\n<expires>[\n<ip>]")
//   with direction "publish" or "play" and the client IP (as the server sees
//   it, IPv6 without brackets) only when the app binds tokens to addresses.
// Tencent tokens (mode tencent, compatible with Tencent Cloud CSS):
//   txTime   = the expiry as upper-case hex Unix seconds (at most 16 digits;
//              lower case is accepted too)
//   txSecret = lowercase hex MD5(key + stream + txTime)
// HLS session tokens (handed out in playlists; see hls_session_token):
//   hs = "<expires>.<lowercase hex HMAC-SHA256(key, "hls-session\n<app>\n<stream>\n<expires>[\n<ip>]")>"
//   (the first line differs from every full token's, so neither passes for
//   the other).
//
// Keys: any number (a primary and a secondary for rotation); a token made
// with any of them is accepted, and every key is tried (the time does not say
// which matched). Comparisons are constant-time (CRYPTO_memcmp).
//
// Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weir::protocol {

inline constexpr size_t kMaxExpiresDigits = 12;  // decimal Unix seconds (year 33658)
inline constexpr size_t kMaxTxTimeDigits = 16;   // hex Unix seconds
inline constexpr size_t kUrlTokenHexSize = 64;   // HMAC-SHA256
inline constexpr size_t kTxSecretHexSize = 32;   // MD5
inline constexpr size_t kMaxSignedNameBytes = 256;  // app, stream, ip: longer is refused as malformed

enum class SignDirection : uint8_t { kPublish, kPlay };
std::string_view sign_direction_name(SignDirection d);  // "publish" / "play"

// Why a token did not pass; kOk when it did.
enum class TokenVerdict : uint8_t {
  kOk,
  kMissing,    // no token parameter at all
  kMalformed,  // present but not of the form above (length, digits)
  kExpired,    // well-formed and past its expiry (whether or not it matches)
  kInvalid,    // well-formed, not expired, made with none of the keys
};
std::string_view token_verdict_name(TokenVerdict v);  // "ok", "missing", "malformed", "expired", "invalid"

struct TokenResult {
  TokenVerdict verdict = TokenVerdict::kMissing;
  int64_t expires = 0;  // parsed expiry (Unix s) when well-formed
};

// The message signed by a Weir token (exposed so users and tests can check
// the format); `ip` empty = not bound.
std::string url_token_message(SignDirection d, std::string_view app, std::string_view stream, int64_t expires,
                              std::string_view ip);
// The token (64 lowercase hex characters).
std::string make_url_token(std::string_view key, SignDirection d, std::string_view app, std::string_view stream,
                           int64_t expires, std::string_view ip);
// Checks the `expires` and `token` parameter values. Expiry is checked first
// (an expired token is kExpired even if forged: the log says "expired", which
// tells nothing about the keys); a token expires at `expires` (== now passes).
TokenResult verify_url_token(const std::vector<std::string>& keys, SignDirection d, std::string_view app,
                             std::string_view stream, std::string_view expires, std::string_view token,
                             std::string_view ip, int64_t now);

// Tencent: txTime text for an expiry, and txSecret.
std::string tencent_tx_time(int64_t expires);
std::string make_tencent_secret(std::string_view key, std::string_view stream, std::string_view tx_time);
TokenResult verify_tencent_token(const std::vector<std::string>& keys, std::string_view stream,
                                 std::string_view tx_time, std::string_view tx_secret, int64_t now);

// HLS session tokens ("<expires>.<hex>").
std::string hls_session_token(std::string_view key, std::string_view app, std::string_view stream, int64_t expires,
                              std::string_view ip);
TokenResult verify_hls_session_token(const std::vector<std::string>& keys, std::string_view app,
                                     std::string_view stream, std::string_view token, std::string_view ip,
                                     int64_t now);

// The playlist with `param` ("hs=...", already URL-safe) added to the query
// of every URI: each non-comment, non-empty line and every URI="..."
// attribute of a tag (EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-KEY,
// EXT-X-RENDITION-REPORT, ...). '?' starts the query, or '&' continues one.
// Line endings are kept.
std::string add_param_to_playlist_uris(std::string_view playlist, std::string_view param);

// Constant-time equality (the time depends on the lengths only).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace weir::protocol
