// The edge chain (weir_via), the admission check that refuses loops (pulls
// and forwards) and the one that refuses publishes on refusing edge apps.
#include <catch2/catch.hpp>

#include "core/srt_url.h"

#include <memory>

#include "core/config.h"
#include "core/loop.h"
#include "edge/edge_publish_check.h"
#include "edge/loop_check.h"
#include "edge/via.h"
#include "origin/origin.h"

using namespace weir;
using namespace weir::edge;

TEST_CASE("weir_via parses into node names; anything else is refused with the entry named") {
  auto v = parse_via("");
  REQUIRE(v);
  CHECK(v->empty());
  v = parse_via("edge-a,edge_b,C9");
  REQUIRE(v);
  CHECK(*v == std::vector<std::string>{"edge-a", "edge_b", "C9"});
  // The form carried in an SRT stream id (',' separates its keys there).
  v = parse_via("edge-a+edge_b");
  REQUIRE(v);
  CHECK(*v == std::vector<std::string>{"edge-a", "edge_b"});
  for (const char* bad : {",", "a,", ",a", "a,,b", "a+", "+a", "a b", "a/b", "a;b", "é"}) {
    INFO(bad);
    auto r = parse_via(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("weir_via") != std::string::npos);
  }
  CHECK_FALSE(parse_via(std::string(65, 'x')));
  CHECK(parse_via(std::string(64, 'x')));

  CHECK(via_with("", "me") == "me");
  CHECK(via_with("a,b", "me") == "a,b,me");
  const std::string id = random_node_id();
  CHECK(id.size() == 17);
  CHECK(id.rfind("weir-", 0) == 0);
  CHECK(core::config::is_node_name(id));
  CHECK(random_node_id() != id);
}

TEST_CASE("LoopCheck refuses a play whose chain names this node or is max_hops long; others pass") {
  core::Config cfg;
  cfg.cluster.max_hops = 3;
  core::AppConfig app;
  app.name = "live";
  cfg.apps["live"] = app;
  core::LoopGroup loops{1};
  origin::Origin origin(cfg, loops);
  LoopCheck check(origin, "me");

  auto play = [](std::string via) {
    origin::AdmissionRequest r;
    r.direction = origin::Direction::kPlay;
    r.app = "live";
    r.stream = "s";
    r.client = "127.0.0.1:1";
    if (!via.empty()) r.params.emplace_back("weir_via", std::move(via));
    return r;
  };
  CHECK(check.check_now(play(""))->allowed());
  CHECK(check.check_now(play("a"))->allowed());
  CHECK(check.check_now(play("a,b"))->allowed());

  auto d = check.check_now(play("a,me"));
  CHECK(d->refusal == origin::Refusal::kLoopDetected);
  CHECK(origin::http_status(d->refusal) == 508);
  CHECK(d->reason.find("this node (me)") != std::string::npos);

  d = check.check_now(play("a,b,c"));
  CHECK(d->refusal == origin::Refusal::kLoopDetected);
  CHECK(d->reason.find("cluster.max_hops is 3") != std::string::npos);

  d = check.check_now(play("a,,b"));
  CHECK(d->refusal == origin::Refusal::kBadRequest);

  // A publish carries the chain of nodes that forwarded it: the same rules.
  auto publish = [&](std::string via) {
    auto r = play(std::move(via));
    r.direction = origin::Direction::kPublish;
    return r;
  };
  CHECK(check.check_now(publish(""))->allowed());
  CHECK(check.check_now(publish("a,b"))->allowed());
  d = check.check_now(publish("a,me"));
  CHECK(d->refusal == origin::Refusal::kLoopDetected);
  CHECK(d->reason == "forward loop: this node (me) is already in the publish's chain a,me");
  d = check.check_now(publish("a,b,c"));
  CHECK(d->refusal == origin::Refusal::kLoopDetected);
  CHECK(d->reason.find("cluster.max_hops is 3") != std::string::npos);
  CHECK(check.check_now(publish("a;b"))->refusal == origin::Refusal::kBadRequest);
}

TEST_CASE("url_with_via adds the chain to the URL's query (an RTMP URL's: its stream name's)") {
  CHECK(url_with_via("rtmp://h:1935/live/s", "a,b") == "rtmp://h:1935/live/s?weir_via=a,b");
  CHECK(url_with_via("rtmps://h/app/KEY?key=K", "me") == "rtmps://h/app/KEY?key=K&weir_via=me");
}

TEST_CASE("url_with_via puts the chain into an srt:// URL's Access Control stream id") {
  CHECK(url_with_via("srt://h:1?streamid=#!::r=live/s,m=publish&latency=120", "a,b") ==
        "srt://h:1?streamid=#!::r=live/s,m=publish,weir_via=a+b&latency=120");
  CHECK(url_with_via("srt://h:1?latency=120&streamid=#!::r=live/s,m=publish", "me") ==
        "srt://h:1?latency=120&streamid=#!::r=live/s,m=publish,weir_via=me");
  CHECK(url_with_via("srt://h:1?streamid=%23!::r=live/s%2Cm=publish", "a,b") ==
        "srt://h:1?streamid=%23!::r=live/s%2Cm=publish%2Cweir_via%3Da%2Bb");
  // Short form or no stream id: nothing can carry the chain.
  CHECK(url_with_via("srt://h:1?streamid=publish:live/s", "a") == "srt://h:1?streamid=publish:live/s");
  CHECK(url_with_via("srt://h:1", "a") == "srt://h:1");
  CHECK(url_with_via("srt://h:1?passphrase=0123456789&xstreamid=1", "a") == "srt://h:1?passphrase=0123456789&xstreamid=1");
  // The result still parses, with the chain as a key of the stream id.
  auto u = weir::core::parse_srt_url(url_with_via("srt://h:1?streamid=%23!::r=live/s%2Cm=publish", "a,b"));
  REQUIRE(u);
  CHECK(u->streamid == "#!::r=live/s,m=publish,weir_via=a+b");
}

TEST_CASE("EdgePublishCheck refuses publishes on an edge app with upstream.publish: refuse only") {
  core::Config cfg;
  core::AppConfig edge_app;
  edge_app.name = "edge";
  edge_app.upstream.urls = {"rtmp://o/{app}/{stream}"};
  edge_app.upstream.publish = "refuse";
  cfg.apps["edge"] = edge_app;
  core::AppConfig plain = edge_app;  // refuse, but not an edge app: no urls, no discover
  plain.name = "plain";
  plain.upstream.urls.clear();
  cfg.apps["plain"] = plain;
  core::AppConfig fwd = edge_app;
  fwd.name = "fwd";
  fwd.upstream.publish = "forward";
  cfg.apps["fwd"] = fwd;
  core::LoopGroup loops{1};
  origin::Origin origin(cfg, loops);
  EdgePublishCheck check(origin);
  auto req = [](const char* app, origin::Direction dir) {
    origin::AdmissionRequest r;
    r.direction = dir;
    r.app = app;
    r.stream = "s";
    r.client = "127.0.0.1:1";
    return r;
  };
  auto d = check.check_now(req("edge", origin::Direction::kPublish));
  CHECK(d->refusal == origin::Refusal::kForbidden);
  CHECK(d->reason.find("upstream.publish: refuse") != std::string::npos);
  CHECK(check.check_now(req("edge", origin::Direction::kPlay))->allowed());
  CHECK(check.check_now(req("plain", origin::Direction::kPublish))->allowed());
  CHECK(check.check_now(req("fwd", origin::Direction::kPublish))->allowed());
  CHECK(check.check_now(req("none", origin::Direction::kPublish))->allowed());  // the app check answers that
}
