// Fuzz target: signed-URL tokens as they come from the wire (URL queries,
// RTMP names, SRT stream-id keys) and the playlist URI rewrite. The input is
// a query string; its expires/token/txTime/txSecret/hs values go to the
// verifiers, the whole input to the rewrite as a playlist.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/query_params.h"
#include "protocol/url_signing.h"

using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const std::vector<std::string> keys{"fuzz-primary", "fuzz-secondary"};
  constexpr int64_t now = 1700000000;
  auto q = parse_query_params(in);
  if (q.is_ok()) {
    auto get = [&](std::string_view k) {
      const std::string* v = find_query_param(*q, k);
      return v ? std::string_view(*v) : std::string_view();
    };
    const std::string_view stream = get("s"), ip = get("ip");
    auto r = verify_url_token(keys, SignDirection::kPlay, "live", stream, get("expires"), get("token"), ip, now);
    // A verdict other than missing/malformed means the lengths were checked.
    if (r.verdict != TokenVerdict::kMissing && r.verdict != TokenVerdict::kMalformed &&
        get("token").size() != kUrlTokenHexSize)
      __builtin_trap();
    if (r.verdict == TokenVerdict::kOk && r.expires < now) __builtin_trap();
    auto t = verify_tencent_token(keys, stream, get("txTime"), get("txSecret"), now);
    if (t.verdict == TokenVerdict::kOk && get("txSecret").size() != kTxSecretHexSize) __builtin_trap();
    auto h = verify_hls_session_token(keys, "live", stream, get("hs"), ip, now);
    if (h.verdict == TokenVerdict::kOk && h.expires < now) __builtin_trap();
  }
  std::string out = add_param_to_playlist_uris(in, "hs=1.ab");
  if (out.size() < in.size()) __builtin_trap();
  return 0;
}
