// The edge chain (weir_via) and the admission check that refuses loops.
#include <catch2/catch.hpp>

#include <memory>

#include "core/config.h"
#include "core/loop.h"
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

  // Publishing is not an edge pull: the chain is not looked at.
  auto pub = play("me");
  pub.direction = origin::Direction::kPublish;
  CHECK(check.check_now(pub)->allowed());
}
