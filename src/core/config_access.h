// Who may publish and play (signed URLs, callbacks, access rules) and the events
// (webhooks) per app and server-wide.
// Part of the typed configuration (core/config.h includes every part; the
// rules of config.h hold here: each field listed once in its visit(), read-only
// after start).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "core/config_schema.h"
#include "core/status.h"

namespace weir::core {

// Signed URLs for an app's publishers and players (protocol/url_signing.h,
// origin/signed_url_check.h). An empty key list leaves that direction open.
struct SignConfig {
  std::string publish_keys;
  std::string play_keys;
  std::string mode = "weir";
  bool bind_ip = false;
  int64_t hls_session_s = 60;

  template <class V>
  void visit(V& v) {
    v.field("publish_keys", publish_keys, config::Secret{},
            "Keys that sign publish URLs, comma-separated (primary first, then a secondary while rotating), each 8 "
            "to 256 characters; empty = publishing is not signed. Better from the environment "
            "(WEIR_APPS_<APP>_SIGN_PUBLISH_KEYS) than in this file.");
    v.field("play_keys", play_keys, config::Secret{},
            "Keys that sign play URLs (every protocol, HLS segments through session tokens), comma-separated, "
            "primary first; empty = playing is not signed. Also WEIR_APPS_<APP>_SIGN_PLAY_KEYS.");
    v.field("mode", mode, config::OneOf{{"weir", "tencent"}},
            "weir: ?expires=UNIX&token=HEX(HMAC-SHA256(key, \"DIR\\nAPP\\nSTREAM\\nEXPIRES[\\nIP]\")); tencent: "
            "?txTime=HEX_UNIX&txSecret=HEX(MD5(key + stream + txTime)) (Tencent Cloud CSS).");
    v.field("bind_ip", bind_ip, config::NoCheck{},
            "Mode weir: tokens are signed over the client's IP too (\\nIP appended), so a URL works from that "
            "address only. HLS session tokens are bound to it as well.");
    v.field("hls_session_s", hls_session_s, config::IntRange{5, 86400},
            "Lifetime of the session token an accepted HLS playlist adds to its segment, part, init and key URIs "
            "(renewed with each playlist reload); also how long after its last reload an expired token still "
            "opens the playlist it was valid for, so a playing HLS viewer is not cut at its token's expiry.");
  }

  // The keys of each direction, split and trimmed (primary first).
  std::vector<std::string> publish_key_list() const;
  std::vector<std::string> play_key_list() const;
  bool signs_publish() const { return !publish_keys.empty(); }
  bool signs_play() const { return !play_keys.empty(); }
};

// HTTP callbacks that decide publishes and plays (hooks/callback_check.h).
struct CallbacksConfig {
  std::string on_publish;
  std::string on_play;
  int64_t timeout_ms = 3000;
  bool fail_open = false;
  std::string secret;
  int64_t cache_ms = 10000;

  template <class V>
  void visit(V& v) {
    v.field("on_publish", on_publish, config::NoCheck{},
            "URL (http:// or https://) POSTed before every publish (RTMP, SRT); a 2xx answer allows it, a 4xx refuses "
            "it; empty = no callback.");
    v.field("on_play", on_play, config::NoCheck{},
            "URL POSTed before every play (RTMP, SRT, HTTP-FLV, WS-FLV, .ts, HLS playlists); empty = no callback.");
    v.field("timeout_ms", timeout_ms, config::IntRange{100, 60000},
            "Time a callback may take (connect and answer); past it the callback has failed.");
    v.field("fail_open", fail_open, config::NoCheck{},
            "When a callback fails (timeout, refused connection, 5xx, a redirect, garbage): true = allow, false = "
            "refuse as unavailable (HTTP 503, SRT 1503).");
    v.field("secret", secret, config::Secret{},
            "Key of the Weir-Signature header on callback requests (as events.secret signs events); empty = unsigned.");
    v.field("cache_ms", cache_ms, config::IntRange{0, 3600000},
            "How long an allowed HLS playlist request stays allowed for the same client address, app and stream "
            "without a new callback (players reload playlists every few seconds); 0 = ask every time.");
  }
};

// Who may publish and play an app's streams (origin/access_check.h). Lists
// are YAML lists or comma-separated strings (WEIR_* overrides).
struct AccessConfig {
  CidrList publish_allow, publish_deny, play_allow, play_deny;
  std::vector<std::string> referers;
  bool allow_empty_referer = true;

  template <class V>
  void visit(V& v) {
    v.field("publish_allow", publish_allow, config::NoCheck{},
            "Addresses allowed to publish: CIDR ranges or bare addresses (a /32 or /128), IPv4 and IPv6; an IPv4 "
            "rule also matches ::ffff:a.b.c.d. Empty = any address; otherwise only matching ones.");
    v.field("publish_deny", publish_deny, config::NoCheck{},
            "Addresses refused publishing (RTMP: NetStream.Publish.BadName with the reason; SRT: reject 1403), "
            "even when publish_allow matches them.");
    v.field("play_allow", play_allow, config::NoCheck{},
            "Addresses allowed to play (every protocol). Empty = any address; otherwise only matching ones.");
    v.field("play_deny", play_deny, config::NoCheck{},
            "Addresses refused playing (HTTP 403; RTMP: NetStream.Play.StreamNotFound with the reason; SRT: "
            "reject 1403), even when play_allow matches them.");
    v.field("referers", referers, config::HostPatterns{},
            "HTTP players (HTTP-FLV, WS-FLV, .ts, HLS) must come from pages on these hosts: each Referer and Origin "
            "header sent must name one (\"example.com\", \"*.example.com\" = any subdomain). Empty = no check. "
            "RTMP and SRT players send neither and are not checked.");
    v.field("allow_empty_referer", allow_empty_referer, config::NoCheck{},
            "With referers set: admit HTTP players that send no Referer and no Origin (or Origin: null), such as "
            "native apps and players with a no-referrer policy.");
  }
};

// An app's own event receivers, beside the global events.url: they get the
// events of this app's streams, clients and assets.
struct AppEventsConfig {
  std::string url;
  std::string secret;

  template <class V>
  void visit(V& v) {
    v.field("url", url, config::NoCheck{},
            "Receivers of this app's events (stream.*, client.*, asset.*), comma-separated http:// or https:// URLs, "
            "besides events.url; empty = none. Delivery settings are events.max_queued, max_attempts, timeout_ms.");
    v.field("secret", secret, config::Secret{}, "Key of their Weir-Signature header (empty: events.secret).");
  }
  std::vector<std::string> urls() const;
};

// Events (webhooks, ../shared/API.md): JSON POSTs signed with HMAC-SHA256.
struct EventsConfig {
  std::string url;
  std::string secret;
  int64_t max_queued = 1000;
  int64_t max_attempts = 10;
  int64_t timeout_ms = 10000;

  template <class V>
  void visit(V& v) {
    v.field("url", url, config::NoCheck{},
            "Receivers of events (asset.ready, asset.failed, asset.uploaded), comma-separated http:// or https:// URLs; "
            "empty = no events.");
    v.field("secret", secret, config::Secret{},
            "Key of the Weir-Signature header (t=UNIX,v1=HMAC-SHA256(secret, t.body)); also WEIR_EVENTS_SECRET.");
    v.field("max_queued", max_queued, config::IntRange{1, 1000000},
            "Events waiting per receiver; past it the oldest waiting one is dropped (counted).");
    v.field("max_attempts", max_attempts, config::IntRange{1, 100},
            "Attempts per event (retried with exponential backoff from 0.5 s up to 60 s), then dropped.");
    v.field("timeout_ms", timeout_ms, config::IntRange{100, 600000}, "Time one delivery attempt may take.");
  }
  std::vector<std::string> urls() const;
};

}  // namespace weir::core
