// AccessCheck in the admission chain (apps.<app>.access): address lists per
// direction (deny wins, a non-empty allow list admits only what it matches,
// IPv4-mapped and IPv6 clients), the Referer/Origin list for HTTP players
// only, and the counters of weir_auth_denied_total{reason="ip"|"referer"}.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/config.h"
#include "core/loop.h"
#include "origin/metrics_text.h"
#include "origin/origin.h"

using namespace weir;
using namespace weir::origin;

namespace {

core::CidrList cidrs(std::initializer_list<const char*> l) {
  core::CidrList out;
  for (const char* e : l) REQUIRE(out.add(e).is_ok());
  return out;
}

struct AccessOrigin {
  core::Config cfg;
  core::LoopGroup loops{1};
  std::unique_ptr<Origin> origin;
  AccessOrigin() {
    core::AppConfig local;  // plays refused from loopback; publishes from 10/8 only
    local.access.play_deny = cidrs({"127.0.0.1", "2001:db8:bad::/48"});
    local.access.publish_allow = cidrs({"10.0.0.0/8", "2001:db8::/32"});
    local.access.publish_deny = cidrs({"10.66.0.0/16"});
    cfg.apps["local"] = local;
    core::AppConfig only;  // plays from 192.0.2.0/24 only
    only.access.play_allow = cidrs({"192.0.2.0/24"});
    cfg.apps["only"] = only;
    core::AppConfig web;
    web.access.referers = {"example.com", "*.example.com"};
    cfg.apps["web"] = web;
    core::AppConfig strict = web;
    strict.access.allow_empty_referer = false;
    cfg.apps["strict"] = strict;
    cfg.apps["open"] = core::AppConfig{};
    cfg.rtmp.listen = "0.0.0.0:1935";
    cfg.http.listen = "127.0.0.1:8080";
    cfg.srt.listen = "127.0.0.1:10080";
    origin = std::make_unique<Origin>(cfg, loops);
  }
  AdmissionDecision ask(const AdmissionRequest& r) { return origin->admission().check_now(r).decision; }
  uint64_t ip_denied(AccessProtocol p) { return origin->metrics().access_denied(p, Metrics::AccessDenial::kIp).load(); }
  uint64_t referer_denied(AccessProtocol p) {
    return origin->metrics().access_denied(p, Metrics::AccessDenial::kReferer).load();
  }
};

AdmissionRequest request(std::string app, Direction d, AccessProtocol p, std::string client,
                         std::string referer = "", std::string origin = "") {
  AdmissionRequest r;
  r.direction = d;
  r.protocol = p;
  r.app = std::move(app);
  r.stream = "cam1";
  r.client = std::move(client);
  r.referer = std::move(referer);
  r.origin = std::move(origin);
  return r;
}

}  // namespace

TEST_CASE("access: deny lists refuse, allow lists admit only what they match, per direction") {
  AccessOrigin o;
  auto d = o.ask(request("local", Direction::kPlay, AccessProtocol::kRtmp, "127.0.0.1:5000"));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK(d.check == "access");
  CHECK(d.reason == "address 127.0.0.1 not allowed to play app local");
  CHECK(o.ip_denied(AccessProtocol::kRtmp) == 1);
  // The same address as IPv4-mapped IPv6 (a dual-stack listener).
  d = o.ask(request("local", Direction::kPlay, AccessProtocol::kHttpFlv, "[::ffff:127.0.0.1]:5000"));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK(d.reason == "address 127.0.0.1 not allowed to play app local");
  CHECK(o.ip_denied(AccessProtocol::kHttpFlv) == 1);
  d = o.ask(request("local", Direction::kPlay, AccessProtocol::kSrt, "[2001:db8:bad:1::9]:4000"));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK(d.reason == "address 2001:db8:bad:1::9 not allowed to play app local");
  CHECK(o.ask(request("local", Direction::kPlay, AccessProtocol::kRtmp, "127.0.0.2:5000")).allowed());
  CHECK(o.ask(request("local", Direction::kPlay, AccessProtocol::kRtmp, "[2001:db8:bae::1]:1")).allowed());

  // Publishing: the allow list (10/8, 2001:db8::/32) minus the deny list (10.66/16).
  d = o.ask(request("local", Direction::kPublish, AccessProtocol::kRtmp, "127.0.0.1:5000"));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK(d.reason == "address 127.0.0.1 not allowed to publish app local");
  CHECK(o.ask(request("local", Direction::kPublish, AccessProtocol::kSrt, "10.1.2.3:5000")).allowed());
  CHECK(o.ask(request("local", Direction::kPublish, AccessProtocol::kSrt, "[::ffff:10.1.2.3]:5000")).allowed());
  CHECK(o.ask(request("local", Direction::kPublish, AccessProtocol::kRtmp, "[2001:db8::1]:5000")).allowed());
  CHECK(o.ask(request("local", Direction::kPublish, AccessProtocol::kRtmp, "10.66.0.1:5000")).refusal ==
        Refusal::kForbidden);  // deny wins over allow
  CHECK(o.ip_denied(AccessProtocol::kRtmp) == 3);
  CHECK(o.ask(request("local", Direction::kPublish, AccessProtocol::kRtmp, "garbage")).refusal ==
        Refusal::kForbidden);  // an address that does not parse matches no allow list

  // play_allow admits only its range; publishing there is open.
  CHECK(o.ask(request("only", Direction::kPlay, AccessProtocol::kHlsSegment, "192.0.2.55:1")).allowed());
  CHECK(o.ask(request("only", Direction::kPlay, AccessProtocol::kHlsSegment, "198.51.100.1:1")).refusal ==
        Refusal::kForbidden);
  CHECK(o.ask(request("only", Direction::kPublish, AccessProtocol::kRtmp, "198.51.100.1:1")).allowed());
  // An app without rules; an unknown app is still refused by the name check first.
  CHECK(o.ask(request("open", Direction::kPlay, AccessProtocol::kRtmp, "127.0.0.1:1")).allowed());
  CHECK(o.ask(request("nope", Direction::kPlay, AccessProtocol::kRtmp, "127.0.0.1:1")).check == "stream-name");

  const std::string text = metrics_text(*o.origin);
  CHECK_THAT(text, Catch::Contains("weir_auth_denied_total{protocol=\"rtmp\",reason=\"ip\"} 4"));
  CHECK_THAT(text, Catch::Contains("weir_auth_denied_total{protocol=\"http-flv\",reason=\"ip\"} 1"));
  CHECK_THAT(text, Catch::Contains("weir_auth_denied_total{protocol=\"hls-segment\",reason=\"ip\"} 1"));
  CHECK_THAT(text, Catch::Contains("weir_auth_denied_total{protocol=\"rtmp\",reason=\"referer\"} 0"));
  CHECK_THAT(text, Catch::Contains("weir_connections_refused_total{reason=\"per_ip\"} 0"));
}

TEST_CASE("access: Referer and Origin must name an allowed host on HTTP plays") {
  AccessOrigin o;
  const char* ip = "203.0.113.5:4000";
  for (AccessProtocol p : {AccessProtocol::kHttpFlv, AccessProtocol::kWsFlv, AccessProtocol::kHttpTs,
                           AccessProtocol::kHlsPlaylist, AccessProtocol::kHlsSegment, AccessProtocol::kHlsPart,
                           AccessProtocol::kHlsKey}) {
    INFO(access_protocol_name(p));
    auto d = o.ask(request("web", Direction::kPlay, p, ip, "https://evil.test/page"));
    CHECK(d.refusal == Refusal::kForbidden);
    CHECK(d.reason == "Referer host 'evil.test' not allowed to play app web");
    CHECK(o.referer_denied(p) == 1);
    CHECK(o.ask(request("web", Direction::kPlay, p, ip, "https://www.example.com/watch?v=1")).allowed());
    CHECK(o.ask(request("web", Direction::kPlay, p, ip, "http://example.com:8080/")).allowed());
    CHECK(o.ask(request("web", Direction::kPlay, p, ip, "", "https://a.b.example.com")).allowed());
    CHECK(o.ask(request("web", Direction::kPlay, p, ip)).allowed());  // allow_empty_referer (default)
    CHECK(o.ask(request("web", Direction::kPlay, p, ip, "", "null")).allowed());
    d = o.ask(request("strict", Direction::kPlay, p, ip));
    CHECK(d.refusal == Refusal::kForbidden);
    CHECK_THAT(d.reason, Catch::Contains("no Referer or Origin header"));
    CHECK(o.ask(request("strict", Direction::kPlay, p, ip, "", "null")).refusal == Refusal::kForbidden);
    CHECK(o.ask(request("strict", Direction::kPlay, p, ip, "https://example.com/")).allowed());
  }
  // Both headers are checked: a good Referer does not excuse a bad Origin.
  auto d = o.ask(request("web", Direction::kPlay, AccessProtocol::kWsFlv, ip, "https://example.com/",
                         "https://evil.example.org"));
  CHECK(d.refusal == Refusal::kForbidden);
  CHECK_THAT(d.reason, Catch::StartsWith("Origin host 'evil.example.org'"));
  // No host at all, a look-alike suffix.
  CHECK(o.ask(request("web", Direction::kPlay, AccessProtocol::kHttpFlv, ip, "garbage")).refusal == Refusal::kForbidden);
  CHECK(o.ask(request("web", Direction::kPlay, AccessProtocol::kHttpFlv, ip, "https://notexample.com/")).refusal ==
        Refusal::kForbidden);
  // RTMP and SRT players, and publishers, are not subject to it.
  CHECK(o.ask(request("strict", Direction::kPlay, AccessProtocol::kRtmp, ip)).allowed());
  CHECK(o.ask(request("strict", Direction::kPlay, AccessProtocol::kSrt, ip)).allowed());
  CHECK(o.ask(request("strict", Direction::kPublish, AccessProtocol::kRtmp, ip)).allowed());
  CHECK(o.referer_denied(AccessProtocol::kRtmp) == 0);
}
