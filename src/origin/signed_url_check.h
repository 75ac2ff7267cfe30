// SignedUrlCheck: the admission check behind per-app signed URLs
// (apps.<app>.sign; the token maths is protocol/url_signing.h). Answers at
// once (check_now, no call out), so SRT refuses in its handshake.
//
// For an app with keys for the request's direction, the request must carry
// a valid token in its parameters: expires + token (mode weir) or txTime +
// txSecret (mode tencent). HLS segments, parts, init segments and keys, and
// VOD asset files, also pass with a valid session token (`hs`, which
// playlists hand out; see hls_session_param). Refusals: a missing or malformed token is
// Refusal::kUnauthorized (SRT 1401), an expired or wrong one kForbidden (SRT
// 1403); HTTP answers 403 for both (http_admission.h). Each refusal is counted
// in Metrics::auth_denied by protocol and reason; the reason text never holds
// a key. Nothing re-checks a session once admitted, so a viewer already
// playing is not cut when its token expires.
//
// HLS is the exception that needs state: a player keeps reloading the
// playlist with the URL it was given, so its token expires while it plays.
// A playlist request whose token is valid is remembered (the token, for its
// app/stream); one whose token has expired is still admitted while that
// token was used for a playlist within the last hls_session_s seconds, and
// each such reload extends it. A player that stops reloading for longer than
// that, or a copied URL used later, is refused. Bounds: at most
// kMaxPlaylistSessions tokens remembered; past it stale ones are swept and,
// if still full, a new token is not remembered (its viewer is cut at expiry,
// counted in Metrics as a refusal like any other).
//
// Threads: check_now() on any thread (the immutable config, relaxed atomic
// counters, and the playlist table under its mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "origin/admission.h"

namespace weir::core {
struct AppConfig;
}

namespace weir::origin {

class Origin;

class SignedUrlCheck final : public AdmissionCheck {
 public:
  explicit SignedUrlCheck(Origin& origin) : origin_(origin) {}
  std::string_view name() const override { return "signed-url"; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest& req) override;

 private:
  static constexpr size_t kMaxPlaylistSessions = 65536;
  // HLS playlist continuation (see the file comment): key = app/stream and
  // token, value = until when an expired token still opens the playlist.
  void remember_playlist(const std::string& key, int64_t until);
  bool renew_playlist(const std::string& key, int64_t now, int64_t until);

  Origin& origin_;
  std::mutex playlists_mu_;
  std::unordered_map<std::string, int64_t> playlists_;  // guarded by playlists_mu_
};

// "hs=<session token>" for the HLS files of a playlist of app/stream that
// `client` ("IP:PORT", admitted to play) loaded, valid `valid_s` seconds
// from now (signed with the primary play key); "" when the app's plays are
// not signed.
std::string hls_session_param(const core::AppConfig& cfg, std::string_view app, std::string_view stream,
                              std::string_view client, int64_t valid_s);

// The play credential of an admitted request `req` (a master playlist's),
// carried over to another stream of its app (a variant's): the query
// parameters "expires=E&token=T" (mode weir) or "txTime=X&txSecret=S" (mode
// tencent) signed for `stream` with the primary play key, bound to the
// request's client address when the app binds tokens, and expiring when the
// request's token does. A request admitted on an expired token (a playlist
// continuation) gets hls_session_s from now instead. "" when the app's plays
// are not signed.
std::string carried_play_token(const core::AppConfig& cfg, const AdmissionRequest& req, std::string_view stream);

}  // namespace weir::origin
