#include <catch2/catch.hpp>

#include <set>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "core/config.h"
#include "core/loop.h"
#include "core/worker_pool.h"
#include "edge/edge_puller.h"
#include "edge/forward_api.h"
#include "edge/forward_service.h"
#include "edge/upstream_api.h"
#include "origin/api/admin_api.h"
#include "origin/api/system_api.h"
#include "origin/origin.h"
#include "server/listener_set.h"
#include "server/reload_api.h"
#include "server/reloader.h"
#include "record/asset_store.h"
#include "record/record_api.h"
#include "record/record_service.h"
#include "transcode/mix_api.h"
#include "transcode/mix_service.h"
#include "transcode/transcode_api.h"
#include "transcode/transcode_service.h"
#include "../openapi_routes.h"

using namespace weir;

// The admin router as main.cpp builds it (core + modules) against
// docs/openapi.yaml: no route undocumented, no documented route missing.
TEST_CASE("docs/openapi.yaml describes exactly the admin API's routes, modules included") {
  auto documented = test::documented_routes(std::string(WEIR_SOURCE_DIR) + "/docs/openapi.yaml");
  core::Config cfg;
  cfg.apps["live"] = core::AppConfig{};
  core::LoopGroup loops(1);
  origin::Origin origin(cfg, loops);
  core::WorkerPool pool(1, 16);
  record::RecordMetrics metrics;
  record::AssetStore store(cfg, pool, metrics);
  record::RecordService recorder(origin, pool, store, metrics);
  auto router = origin::api::build_admin_routes(origin, "test", "openapi: 3.1.0\n");
  record::add_record_api(*router, origin.config_store(), store, recorder);
  edge::EdgePuller edge(origin, nullptr, "test-node");
  edge::add_upstream_routes(*router, origin.config_store(), edge);
  edge::ForwardService forward(origin, nullptr, "test-node", edge.health());
  edge::add_forward_routes(*router, origin.config_store(), forward);
  transcode::TranscodeService transcoder(origin, pool);
  transcode::add_transcode_routes(*router, origin.config_store(), transcoder);
  transcode::MixService mixer(origin, pool, transcoder);
  transcode::add_mix_routes(*router, origin.config_store(), mixer);
  server::ListenerSet listeners(loops, origin, router, router);
  server::Reloader reloader("unused.yaml", nullptr, origin, listeners);
  server::add_reload_route(*router, origin.config_store(), reloader);
  origin::api::ProcessSampler sampler(origin);
  origin::api::add_system_routes(*router, origin, sampler, "test");
  std::set<std::string> groups;
  auto routed = test::routed_routes(*router, &groups);
  CHECK_FALSE(groups.count(""));  // every admin route is behind the token guard
  for (const auto& d : documented) {
    INFO(d.first + " " + d.second + " is documented but not routed");
    CHECK(routed.count(d) == 1);
  }
  for (const auto& d : routed) {
    INFO(d.first + " " + d.second + " is routed but not documented");
    CHECK(documented.count(d) == 1);
  }
}
