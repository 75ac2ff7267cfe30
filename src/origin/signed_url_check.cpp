#include "origin/signed_url_check.h"

#include <algorithm>
#include <charconv>
#include <iterator>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/config.h"
#include "origin/origin.h"
#include "protocol/url_signing.h"

namespace weir::origin {

namespace {

using protocol::TokenResult;
using protocol::TokenVerdict;

// What a playlist's session token opens: HLS segments, parts, init segments
// and keys, and the files of a VOD asset.
bool takes_session_token(AccessProtocol p) {
  return p == AccessProtocol::kHlsSegment || p == AccessProtocol::kHlsPart || p == AccessProtocol::kHlsKey ||
         p == AccessProtocol::kVod;
}

// The refusal's one line (for the log and the protocol's error text): why,
// never a key.
std::string why(const TokenResult& r, int64_t now, bool tencent, bool session, protocol::SignDirection d) {
  const char* params = session ? "hs" : tencent ? "txTime and txSecret" : "expires and token";
  switch (r.verdict) {
    case TokenVerdict::kMissing: return fmt::format("signed URL required: no token ({})", params);
    case TokenVerdict::kMalformed: return fmt::format("malformed token ({})", params);
    case TokenVerdict::kExpired:
      return fmt::format("{}token expired {} s ago", session ? "HLS session " : "", now - r.expires);
    case TokenVerdict::kInvalid:
      return fmt::format("{}token signed with none of the app's {} keys", session ? "HLS session " : "",
                         protocol::sign_direction_name(d));
    case TokenVerdict::kOk: break;
  }
  return "token accepted";
}

}  // namespace

std::optional<AdmissionDecision> SignedUrlCheck::check_now(const AdmissionRequest& req) {
  const core::AppConfig* cfg = origin_.config().find_app(req.app);
  if (!cfg) return AdmissionDecision::allow();  // the stream-name check refused it already
  const core::SignConfig& sign = cfg->sign;
  const bool publish = req.direction == Direction::kPublish;
  if (publish ? !sign.signs_publish() : !sign.signs_play()) return AdmissionDecision::allow();
  const std::vector<std::string> keys = publish ? sign.publish_key_list() : sign.play_key_list();
  const auto dir = publish ? protocol::SignDirection::kPublish : protocol::SignDirection::kPlay;
  const std::string_view ip = sign.bind_ip ? req.client_ip() : std::string_view();
  const bool tencent = sign.mode == "tencent";
  const int64_t now = core::wall_clock_ms() / 1000;

  TokenResult r;
  bool session = false;
  if (takes_session_token(req.protocol) && !req.param("hs").empty()) {
    // A session token from the playlist; a full token also passes (below)
    // only when no session token was sent.
    session = true;
    r = protocol::verify_hls_session_token(keys, req.app, req.stream, req.param("hs"), ip, now);
  } else if (tencent) {
    r = protocol::verify_tencent_token(keys, req.stream, req.param("txTime"), req.param("txSecret"), now);
  } else {
    r = protocol::verify_url_token(keys, dir, req.app, req.stream, req.param("expires"), req.param("token"), ip, now);
  }
  if (req.protocol == AccessProtocol::kHlsPlaylist && !session) {
    // The whole credential (expiry and signature), so only the exact URL that
    // was once valid continues.
    const std::string key = req.app + "/" + req.stream + "\n" + std::string(req.param(tencent ? "txTime" : "expires")) +
                            "\n" + std::string(req.param(tencent ? "txSecret" : "token"));
    const int64_t until = now + sign.hls_session_s;
    if (r.verdict == TokenVerdict::kOk) remember_playlist(key, until);
    if (r.verdict == TokenVerdict::kExpired && renew_playlist(key, now, until)) return AdmissionDecision::allow();
  }
  if (r.verdict == TokenVerdict::kOk) return AdmissionDecision::allow();
  origin_.metrics().auth_denied(req.protocol, r.verdict)++;
  const Refusal refusal = r.verdict == TokenVerdict::kMissing || r.verdict == TokenVerdict::kMalformed
                              ? Refusal::kUnauthorized
                              : Refusal::kForbidden;
  return AdmissionDecision::deny(refusal, why(r, now, tencent, session, dir));
}

void SignedUrlCheck::remember_playlist(const std::string& key, int64_t until) {
  std::lock_guard lk(playlists_mu_);
  auto it = playlists_.find(key);
  if (it != playlists_.end()) {
    it->second = std::max(it->second, until);
    return;
  }
  if (playlists_.size() >= kMaxPlaylistSessions) {
    const int64_t now = core::wall_clock_ms() / 1000;
    for (auto i = playlists_.begin(); i != playlists_.end();) i = i->second < now ? playlists_.erase(i) : std::next(i);
    if (playlists_.size() >= kMaxPlaylistSessions) return;  // full of live sessions: not remembered
  }
  playlists_.emplace(key, until);
}

bool SignedUrlCheck::renew_playlist(const std::string& key, int64_t now, int64_t until) {
  std::lock_guard lk(playlists_mu_);
  auto it = playlists_.find(key);
  if (it == playlists_.end()) return false;
  if (it->second < now) {
    playlists_.erase(it);
    return false;
  }
  it->second = until;
  return true;
}

std::string hls_session_param(const core::AppConfig& cfg, std::string_view app, std::string_view stream,
                              std::string_view client, int64_t valid_s) {
  if (!cfg.sign.signs_play()) return {};
  const std::vector<std::string> keys = cfg.sign.play_key_list();
  if (keys.empty()) return {};
  AdmissionRequest who;
  who.client = std::string(client);
  const std::string_view ip = cfg.sign.bind_ip ? who.client_ip() : std::string_view();
  const int64_t expires = core::wall_clock_ms() / 1000 + valid_s;
  return "hs=" + protocol::hls_session_token(keys.front(), app, stream, expires, ip);
}

std::string carried_play_token(const core::AppConfig& cfg, const AdmissionRequest& req, std::string_view stream) {
  if (!cfg.sign.signs_play()) return {};
  const std::vector<std::string> keys = cfg.sign.play_key_list();
  if (keys.empty()) return {};
  const bool tencent = cfg.sign.mode == "tencent";
  const int64_t now = core::wall_clock_ms() / 1000;
  // The request's expiry; it was admitted, so a form the checks refuse cannot be here, but bound it anyway.
  int64_t expires = 0;
  const std::string_view text = req.param(tencent ? "txTime" : "expires");
  if (!text.empty() && text.size() <= (tencent ? protocol::kMaxTxTimeDigits : protocol::kMaxExpiresDigits))
    std::from_chars(text.data(), text.data() + text.size(), expires, tencent ? 16 : 10);
  if (expires <= now) expires = now + cfg.sign.hls_session_s;
  if (tencent) {
    const std::string tx_time = protocol::tencent_tx_time(expires);
    return "txTime=" + tx_time + "&txSecret=" + protocol::make_tencent_secret(keys.front(), stream, tx_time);
  }
  const std::string_view ip = cfg.sign.bind_ip ? req.client_ip() : std::string_view();
  return fmt::format("expires={}&token={}", expires,
                     protocol::make_url_token(keys.front(), protocol::SignDirection::kPlay, req.app, stream, expires, ip));
}

}  // namespace weir::origin
