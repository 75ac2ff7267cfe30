// The reload's parts in-process: the restart-only list and the code that
// keeps those keys stay in step; ListenerSet refuses an address in use
// without changing anything, and rebinds a changed listener on a live loop.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "core/config_diff.h"
#include "core/net.h"
#include "origin/http/router.h"
#include "origin/origin.h"
#include "server/listener_set.h"
#include "server/reloader.h"

using namespace weir;

namespace {
char* kNoEnv[] = {nullptr};

core::Config load(const std::string& yaml) {
  auto c = core::load_config_text(yaml, kNoEnv);
  REQUIRE(c);
  return std::move(*c);
}

bool accepts(const std::string& hostport) {
  auto a = core::parse_listen_address(hostport);
  REQUIRE(a);
  int fd = ::socket(a->family(), SOCK_STREAM, 0);
  const bool ok = ::connect(fd, a->sa(), a->len) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

TEST_CASE("keep_restart_only keeps exactly the keys kRestartOnly lists") {
  const core::Config running = load("apps:\n  live: {}\n");
  core::Config next = load(
      "workers: 3\nlog:\n  format: json\nrtmp:\n  chunk_size: 4096\nsrt:\n  listen: 127.0.0.1:1\n"
      "storage:\n  workers: 3\nsnapshot:\n  threads: 3\n"
      "events:\n  max_attempts: 2\n  max_queued: 5\n  timeout_ms: 500\nlimits:\n  ingest_buffer_bytes: 2MiB\n"
      "cluster:\n  node_id: other\n  redis:\n    address: 127.0.0.1:6379\n    advertise: false\n"
      "transcode:\n  threads: 3\n  max_queued_packets: 500\n"
      "apps:\n  live: {}\n");
  const auto before = core::changed_keys(running, next);
  for (const auto& prefix : server::Reloader::kRestartOnly) {
    bool listed = false;
    for (const auto& k : before) listed = listed || core::key_under(k, prefix);
    INFO(prefix);
    CHECK(listed);  // the document above changes every restart-only key
  }
  server::Reloader::keep_restart_only(next, running);
  CHECK(core::changed_keys(running, next).empty());
}

TEST_CASE("a listener set rebinds a changed listener and refuses an address in use, changing nothing") {
  core::ConfigStore configs(load("rtmp:\n  listen: 127.0.0.1:0\nhttp:\n  listen: 127.0.0.1:0\n"
                                 "api:\n  listen: 127.0.0.1:0\napps:\n  live: {}\n"));
  core::LoopGroup loops(1);
  origin::Origin origin(configs, loops);
  auto router = std::make_shared<origin::http::Router>();
  server::ListenerSet set(loops, origin, router, router);
  REQUIRE(set.open(configs.current()));
  core::Status started;
  loops.start([&](core::Loop& loop) { started = set.start_on(loop); });
  REQUIRE(started);
  const std::string rtmp = set.bound(server::ListenerSet::kRtmp), http = set.bound(server::ListenerSet::kHttp);
  CHECK(accepts(rtmp));

  // rtmps on the HTTP port: refused, naming the key; nothing changes.
  auto busy = std::make_shared<core::Config>(configs.get());
  busy->rtmps.listen = http;
  busy->tls = {};
  auto refused = set.prepare(busy);
  REQUIRE_FALSE(refused);  // TLS without a certificate is refused first
  busy->rtmps.listen.clear();
  busy->rtmp.listen = http;
  refused = set.prepare(busy);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().rfind("rtmp.listen: bind", 0) == 0);
  CHECK(accepts(rtmp));

  // A setting every listener takes: each restarts on its own port.
  auto capped = std::make_shared<core::Config>(configs.get());
  capped->limits.max_connections = 100;
  auto plan = set.prepare(capped);
  REQUIRE(plan);
  CHECK(plan->changing() == std::vector<std::string>{"rtmp", "http", "api"});
  configs.install(capped);
  CHECK(set.apply(std::move(*plan)).empty());
  CHECK(set.bound(server::ListenerSet::kRtmp) == rtmp);
  CHECK(set.bound(server::ListenerSet::kHttp) == http);
  CHECK(accepts(rtmp));

  // A new RTMP address: the new one accepts, the old one no longer does.
  auto moved = std::make_shared<core::Config>(configs.get());
  moved->rtmp.listen = "127.0.0.2:0";
  plan = set.prepare(moved);
  REQUIRE(plan);
  CHECK(plan->changing() == std::vector<std::string>{"rtmp"});
  configs.install(moved);
  CHECK(set.apply(std::move(*plan)).empty());
  const std::string now = set.bound(server::ListenerSet::kRtmp);
  CHECK(now.rfind("127.0.0.2:", 0) == 0);
  CHECK(accepts(now));
  CHECK_FALSE(accepts(rtmp));
  loops.stop();
}
