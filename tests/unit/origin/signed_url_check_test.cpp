// SignedUrlCheck in the admission chain (refusal kinds, reasons, counters,
// rotation, IP binding, HLS session tokens, Tencent mode) and signed_urls(),
// whose every URL the check accepts.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/loop.h"
#include "origin/origin.h"
#include "origin/signed_url_check.h"
#include "origin/signed_url_list.h"
#include "protocol/query_params.h"
#include "protocol/url_signing.h"

using namespace weir;
using namespace weir::origin;
using protocol::TokenVerdict;

namespace {

struct SignedOrigin {
  core::Config cfg;
  core::LoopGroup loops{1};
  std::unique_ptr<Origin> origin;
  SignedOrigin() {
    core::AppConfig live;
    live.hls.enabled = true;
    live.sign.publish_keys = "pub-primary-1, pub-secondary-2";
    live.sign.play_keys = "play-primary-1,play-secondary-2";
    live.sign.hls_session_s = 30;
    cfg.apps["live"] = live;
    core::AppConfig bound = live;
    bound.sign.bind_ip = true;
    cfg.apps["bound"] = bound;
    core::AppConfig brief = live;
    brief.sign.hls_session_s = 1;
    cfg.apps["brief"] = brief;
    core::AppConfig tx;
    tx.sign.mode = "tencent";
    tx.sign.play_keys = "tencentkey1";
    cfg.apps["tx"] = tx;
    cfg.apps["open"] = core::AppConfig{};
    cfg.rtmp.listen = "0.0.0.0:1935";
    cfg.http.listen = "127.0.0.1:8080";
    cfg.srt.listen = "127.0.0.1:10080";
    origin = std::make_unique<Origin>(cfg, loops);
  }
  AdmissionDecision ask(const AdmissionRequest& r) { return origin->admission().check_now(r).decision; }
  uint64_t denied(AccessProtocol p, TokenVerdict v) { return origin->metrics().auth_denied(p, v).load(); }
};

AdmissionRequest request(std::string app, Direction d, AccessProtocol p, std::string query,
                         std::string client = "127.0.0.1:5000") {
  AdmissionRequest r;
  r.direction = d;
  r.protocol = p;
  r.app = std::move(app);
  r.stream = "cam1";
  r.client = std::move(client);
  REQUIRE(protocol::append_query_params(query, r.params));
  return r;
}

int64_t now_s() { return core::wall_clock_ms() / 1000; }

std::string weir_query(const std::string& key, protocol::SignDirection d, const std::string& app, int64_t exp,
                       const std::string& ip = "") {
  return "expires=" + std::to_string(exp) + "&token=" + protocol::make_url_token(key, d, app, "cam1", exp, ip);
}

}  // namespace

TEST_CASE("signed URLs: refusal kinds, reasons and counters per protocol and reason") {
  SignedOrigin o;
  const int64_t exp = now_s() + 60;
  const auto play = protocol::SignDirection::kPlay;
  auto d = o.ask(request("live", Direction::kPlay, AccessProtocol::kRtmp, ""));
  CHECK(d.refusal == Refusal::kUnauthorized);
  CHECK(d.check == "signed-url");
  CHECK_THAT(d.reason, Catch::Contains("no token"));
  CHECK(o.denied(AccessProtocol::kRtmp, TokenVerdict::kMissing) == 1);

  d = o.ask(request("live", Direction::kPlay, AccessProtocol::kHttpFlv, "expires=1&token=xyz"));
  CHECK(d.refusal == Refusal::kUnauthorized);
  CHECK(o.denied(AccessProtocol::kHttpFlv, TokenVerdict::kMalformed) == 1);

  d = o.ask(request("live", Direction::kPlay, AccessProtocol::kSrt,
                    weir_query("play-primary-1", play, "live", now_s() - 12)));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK_THAT(d.reason, Catch::Matches("token expired 1[2-4] s ago"));
  CHECK(o.denied(AccessProtocol::kSrt, TokenVerdict::kExpired) == 1);

  d = o.ask(request("live", Direction::kPlay, AccessProtocol::kWsFlv, weir_query("retired-key-0", play, "live", exp)));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK_THAT(d.reason, Catch::Contains("none of the app's play keys"));
  CHECK_THAT(d.reason, !Catch::Contains("play-primary-1"));
  CHECK(o.denied(AccessProtocol::kWsFlv, TokenVerdict::kInvalid) == 1);

  // Rotation: primary and secondary; a play token does not publish.
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHttpTs, weir_query("play-primary-1", play, "live", exp)))
            .allowed());
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHttpTs, weir_query("play-secondary-2", play, "live", exp)))
            .allowed());
  CHECK(o.ask(request("live", Direction::kPublish, AccessProtocol::kRtmp, weir_query("play-primary-1", play, "live", exp)))
            .refusal == Refusal::kForbidden);
  CHECK(o.ask(request("live", Direction::kPublish, AccessProtocol::kRtmp,
                      weir_query("pub-secondary-2", protocol::SignDirection::kPublish, "live", exp)))
            .allowed());
  // Unsigned apps, and names refused before the token is looked at.
  CHECK(o.ask(request("open", Direction::kPublish, AccessProtocol::kRtmp, "")).allowed());
  CHECK(o.ask(request("nope", Direction::kPlay, AccessProtocol::kRtmp, "")).check == "stream-name");
}

TEST_CASE("signed URLs: IP binding uses the client's address, IPv6 too") {
  SignedOrigin o;
  const int64_t exp = now_s() + 60;
  const auto play = protocol::SignDirection::kPlay;
  const std::string q4 = weir_query("play-primary-1", play, "bound", exp, "10.1.2.3");
  CHECK(o.ask(request("bound", Direction::kPlay, AccessProtocol::kRtmp, q4, "10.1.2.3:4000")).allowed());
  CHECK(o.ask(request("bound", Direction::kPlay, AccessProtocol::kRtmp, q4, "10.1.2.4:4000")).refusal ==
        Refusal::kForbidden);
  const std::string q6 = weir_query("play-primary-1", play, "bound", exp, "::1");
  CHECK(o.ask(request("bound", Direction::kPlay, AccessProtocol::kRtmp, q6, "[::1]:4000")).allowed());
}

TEST_CASE("signed URLs: HLS files pass with the playlist's session token or a full token") {
  SignedOrigin o;
  const core::AppConfig& live = *o.cfg.find_app("live");
  const std::string hs = hls_session_param(live, "live", "cam1", "127.0.0.1:5000", 30);
  REQUIRE(hs.rfind("hs=", 0) == 0);
  CHECK(hls_session_param(*o.cfg.find_app("open"), "open", "cam1", "127.0.0.1:5000", 30).empty());
  for (auto p : {AccessProtocol::kHlsSegment, AccessProtocol::kHlsPart, AccessProtocol::kHlsKey})
    CHECK(o.ask(request("live", Direction::kPlay, p, hs)).allowed());
  // The playlist itself needs a full token.
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist, hs)).refusal == Refusal::kUnauthorized);
  const std::string old = "hs=" + protocol::hls_session_token("play-primary-1", "live", "cam1", now_s() - 3, "");
  auto d = o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsSegment, old));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK_THAT(d.reason, Catch::Contains("session token expired"));
  CHECK(o.denied(AccessProtocol::kHlsSegment, TokenVerdict::kExpired) == 1);
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsSegment, "")).refusal == Refusal::kUnauthorized);
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsSegment,
                      weir_query("play-primary-1", protocol::SignDirection::kPlay, "live", now_s() + 60)))
            .allowed());
  // Bound apps bind the session token too.
  const std::string bhs = hls_session_param(*o.cfg.find_app("bound"), "bound", "cam1", "10.0.0.1:1", 30);
  CHECK(o.ask(request("bound", Direction::kPlay, AccessProtocol::kHlsPart, bhs, "10.0.0.1:2")).allowed());
  CHECK(o.ask(request("bound", Direction::kPlay, AccessProtocol::kHlsPart, bhs, "10.0.0.2:2")).refusal ==
        Refusal::kForbidden);
}

TEST_CASE("signed URLs: a playlist token that expires keeps opening its playlist while the player reloads") {
  SignedOrigin o;
  const auto play = protocol::SignDirection::kPlay;
  const int64_t t0 = now_s();
  const std::string q = weir_query("play-primary-1", play, "live", t0 + 1);
  const std::string qb = weir_query("play-primary-1", play, "brief", t0 + 1);
  const std::string never = weir_query("play-primary-1", play, "live", t0);  // valid signature, never used while valid
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist, q)).allowed());
  CHECK(o.ask(request("brief", Direction::kPlay, AccessProtocol::kHlsPlaylist, qb)).allowed());
  while (now_s() <= t0 + 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both tokens expired; brief's hls_session_s (1 s) is over too
  // live (hls_session_s 30): the same URL goes on opening the playlist...
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist, q)).allowed());
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist, q)).allowed());
  // ...and nothing else: another protocol, another expiry with the same signature, another token.
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHttpFlv, q)).refusal == Refusal::kForbidden);
  const std::string moved = "expires=" + std::to_string(t0) + q.substr(q.find("&token="));
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist, moved)).refusal == Refusal::kForbidden);
  CHECK(o.ask(request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist, never)).refusal == Refusal::kForbidden);
  // brief: not reloaded within its 1 s, so refused.
  auto d = o.ask(request("brief", Direction::kPlay, AccessProtocol::kHlsPlaylist, qb));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK_THAT(d.reason, Catch::Contains("token expired"));
}

TEST_CASE("signed URLs: Tencent mode takes txSecret/txTime") {
  SignedOrigin o;
  const int64_t exp = now_s() + 60;
  const std::string t = protocol::tencent_tx_time(exp);
  const std::string q = "txSecret=" + protocol::make_tencent_secret("tencentkey1", "cam1", t) + "&txTime=" + t;
  CHECK(o.ask(request("tx", Direction::kPlay, AccessProtocol::kHttpFlv, q)).allowed());
  CHECK(o.ask(request("tx", Direction::kPlay, AccessProtocol::kHttpFlv, "")).refusal == Refusal::kUnauthorized);
  CHECK(o.ask(request("tx", Direction::kPublish, AccessProtocol::kRtmp, "")).allowed());  // publishing not signed
}

TEST_CASE("signed_urls: every protocol, and the check accepts each URL") {
  SignedOrigin o;
  SignUrlRequest r;
  r.app = "live";
  r.stream = "cam1";
  r.expires = now_s() + 600;
  auto urls = signed_urls(o.cfg, r);
  REQUIRE(urls);
  std::vector<std::string> names;
  for (const auto& u : *urls) names.push_back(u.name);
  CHECK(names == std::vector<std::string>{"rtmp", "srt", "http-flv", "ws-flv", "ts", "hls", "llhls"});
  CHECK(urls->front().url.rfind("rtmp://127.0.0.1:1935/live/cam1?expires=", 0) == 0);  // wildcard listen -> 127.0.0.1
  CHECK((*urls)[1].url.find("srt://127.0.0.1:10080?streamid=#!::r=live/cam1,m=request,expires=") == 0);
  for (const auto& u : *urls) {
    if (u.name == "srt") continue;
    AdmissionRequest req = request("live", Direction::kPlay, AccessProtocol::kHttpFlv, u.url.substr(u.url.find('?') + 1));
    INFO(u.url);
    CHECK(o.ask(req).allowed());
  }
  r.direction = Direction::kPublish;
  r.host = "media.example.com";
  auto pub = signed_urls(o.cfg, r);
  REQUIRE(pub);
  REQUIRE(pub->size() == 2);
  const std::string& url = pub->front().url;
  CHECK(url.rfind("rtmp://media.example.com:1935/live/cam1?", 0) == 0);
  CHECK(o.ask(request("live", Direction::kPublish, AccessProtocol::kRtmp, url.substr(url.find('?') + 1))).allowed());
  // Errors: unsigned, unknown, bound without an address.
  r.app = "open";
  CHECK_FALSE(signed_urls(o.cfg, r));
  r.app = "nope";
  CHECK_FALSE(signed_urls(o.cfg, r));
  r.app = "bound";
  r.direction = Direction::kPlay;
  auto no_ip = signed_urls(o.cfg, r);
  REQUIRE_FALSE(no_ip);
  CHECK_THAT(no_ip.error(), Catch::Contains("--ip"));
  r.ip = "10.9.8.7";
  CHECK(signed_urls(o.cfg, r));
}

TEST_CASE("signed URLs: a master playlist's token carried to its variants opens each of them, and only them") {
  SignedOrigin o;
  const auto play = protocol::SignDirection::kPlay;
  const int64_t exp = now_s() + 120;
  auto variant = [](AdmissionRequest r, const std::string& stream, const std::string& query) {
    r.stream = stream;
    r.params.clear();
    REQUIRE(protocol::append_query_params(query, r.params));
    return r;
  };
  SECTION("weir mode, the same expiry, bound to the client where the app binds") {
    for (const char* app : {"live", "bound"}) {
      INFO(app);
      const std::string ip = std::string(app) == "bound" ? "127.0.0.1" : "";
      const auto master = request(app, Direction::kPlay, AccessProtocol::kHlsPlaylist,
                                  weir_query("play-secondary-2", play, app, exp, ip));
      REQUIRE(o.ask(master).allowed());
      const std::string carried = carried_play_token(o.cfg.apps[app], master, "cam1_360p");
      CHECK_THAT(carried, Catch::StartsWith("expires=" + std::to_string(exp) + "&token="));
      CHECK(o.ask(variant(master, "cam1_360p", carried)).allowed());
      CHECK(o.ask(variant(master, "cam1_720p", carried)).refusal == Refusal::kForbidden);  // another stream
      auto other_client = variant(master, "cam1_360p", carried);
      other_client.client = "10.0.0.9:4000";
      CHECK(o.ask(other_client).allowed() == ip.empty());
    }
  }
  SECTION("an expired master token still admitted (a continuation) gets hls_session_s from now") {
    auto master = request("live", Direction::kPlay, AccessProtocol::kHlsPlaylist,
                          weir_query("play-primary-1", play, "live", now_s() - 5));
    const std::string carried = carried_play_token(o.cfg.apps["live"], master, "cam1_360p");
    const int64_t e = std::stoll(carried.substr(8, carried.find('&') - 8));
    CHECK(e >= now_s() + 29);
    CHECK(e <= now_s() + 31);
    CHECK(o.ask(variant(master, "cam1_360p", carried)).allowed());
  }
  SECTION("tencent mode keeps txTime") {
    const std::string t = protocol::tencent_tx_time(exp);
    const auto master = request("tx", Direction::kPlay, AccessProtocol::kHlsPlaylist,
                                "txSecret=" + protocol::make_tencent_secret("tencentkey1", "cam1", t) + "&txTime=" + t);
    REQUIRE(o.ask(master).allowed());
    const std::string carried = carried_play_token(o.cfg.apps["tx"], master, "cam1_360p");
    CHECK_THAT(carried, Catch::StartsWith("txTime=" + t + "&txSecret="));
    CHECK(o.ask(variant(master, "cam1_360p", carried)).allowed());
  }
  SECTION("unsigned apps carry nothing") {
    CHECK(carried_play_token(o.cfg.apps["open"], request("open", Direction::kPlay, AccessProtocol::kHlsPlaylist, ""),
                             "cam1_360p")
              .empty());
  }
}
