// The "stream source on demand" seam (origin/stream_sources.h) through
// PlayRequest with running loops: a miss tells the source once per stream
// whatever the number of viewers and loops, the viewers wait for it (the
// source's wait, not the app's play_wait_ms), a release with a failure ends
// the waiting requests at once with its reason, and the next miss asks again.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "core/loop.h"
#include "origin/hub_publisher.h"
#include "origin/origin.h"
#include "origin/play_alias.h"
#include "origin/play_request.h"
#include "origin/stream_hub.h"

using namespace weir;
using namespace weir::origin;
using namespace std::chrono_literals;

namespace {

// Serves app "edge" only; records what it was told, on which thread.
struct TestSource : StreamSource {
  int64_t wait_ms = 2000;
  std::atomic<int> told{0};
  std::mutex mu;
  std::vector<std::string> keys;
  std::vector<std::string> firsts;  // the first viewer's `who` parameter, per want
  std::atomic<bool> on_loop{true};
  int64_t serves(const core::AppConfig& app, std::string_view) const override {
    return app.name == "edge" ? wait_ms : 0;
  }
  void want(const std::string& app, const std::string& stream, const AdmissionRequest& first) override {
    if (!core::Loop::current()) on_loop = false;
    std::lock_guard<std::mutex> lk(mu);
    keys.push_back(app + "/" + stream);
    firsts.emplace_back(first.param("who"));
    ++told;
  }
};

struct Fixture {
  core::Config cfg;
  core::LoopGroup loops{2};
  TestSource source;
  std::unique_ptr<Origin> origin;
  explicit Fixture(PlayAlias* alias = nullptr) {
    core::AppConfig edge;
    edge.name = "edge";
    edge.hls.enabled = false;
    cfg.apps["edge"] = edge;
    core::AppConfig plain;
    plain.name = "plain";
    plain.hls.enabled = false;
    cfg.apps["plain"] = plain;
    origin = std::make_unique<Origin>(cfg, loops);
    origin->sources().add(&source);
    if (alias) origin->add_play_alias(alias);
    loops.start([this](core::Loop& l) { origin->at(l.index()).start(); });
  }
  ~Fixture() {
    origin->registry().end_all("test over");
    loops.stop();
  }
  template <class F>
  void on(size_t i, F fn) {
    std::promise<void> p;
    auto f = p.get_future();
    REQUIRE(loops.at(i).post([&] {
      fn();
      p.set_value();
    }));
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
  }
};

AdmissionRequest play(std::string app, std::string stream) {
  AdmissionRequest r;
  r.direction = Direction::kPlay;
  r.protocol = AccessProtocol::kHttpFlv;
  r.app = std::move(app);
  r.stream = std::move(stream);
  r.client = "127.0.0.1:5000";
  return r;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 3000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

struct Outcomes {
  std::atomic<int> hubs{0}, not_found{0};
  std::mutex mu;
  std::vector<std::string> reasons;
  PlayRequest::Done done() {
    return [this](PlayRequest::Outcome o) {
      if (o.hub) ++hubs;
      else if (o.refusal == Refusal::kNotFound) ++not_found;
      std::lock_guard<std::mutex> lk(mu);
      reasons.push_back(o.reason);
    };
  }
};

}  // namespace

TEST_CASE("StreamSources: one want per stream for viewers on every loop; they wait and get the stream") {
  Fixture f;
  Outcomes out;
  std::vector<std::unique_ptr<PlayRequest>> reqs[2];
  for (size_t loop = 0; loop < 2; ++loop)
    f.on(loop, [&] {
      for (int i = 0; i < 10; ++i) {
        AdmissionRequest r = play("edge", "s");
        r.params.emplace_back("who", "loop" + std::to_string(loop) + "-" + std::to_string(i));
        reqs[loop].push_back(std::make_unique<PlayRequest>(*f.origin));
        reqs[loop].back()->start(std::move(r), out.done());
      }
    });
  CHECK(f.source.told == 1);
  CHECK(f.source.on_loop);
  // The source saw the request of the viewer that missed first.
  CHECK(f.source.firsts == std::vector<std::string>{"loop0-0"});
  CHECK(f.origin->sources().active() == std::vector<std::string>{"edge/s"});
  // play_wait_ms is 0: without the source these would have had 404 at once.
  std::this_thread::sleep_for(100ms);
  CHECK(out.hubs == 0);
  CHECK(out.not_found == 0);

  // The source publishes (as an edge pull would) on loop 1.
  std::unique_ptr<HubPublisher> pub;
  f.on(1, [&] {
    pub = std::make_unique<HubPublisher>(*f.origin, f.loops.at(1), HubPublisher::Source{"edge", "up"}, nullptr);
    REQUIRE(pub->start_admitted("edge", "s").hub);
  });
  CHECK(eventually([&] { return out.hubs == 20; }));
  // Later viewers find it live; the source is not asked again.
  f.on(0, [&] {
    reqs[0].push_back(std::make_unique<PlayRequest>(*f.origin));
    reqs[0].back()->start(play("edge", "s"), out.done());
  });
  CHECK(eventually([&] { return out.hubs == 21; }));
  CHECK(f.source.told == 1);

  // Another app the source does not serve: 404 at once, nothing told.
  f.on(0, [&] {
    reqs[0].push_back(std::make_unique<PlayRequest>(*f.origin));
    reqs[0].back()->start(play("plain", "s"), out.done());
  });
  CHECK(eventually([&] { return out.not_found == 1; }));
  CHECK(f.source.told == 1);
  CHECK(f.origin->sources().serves(*f.cfg.find_app("plain"), "s") == 0);
  CHECK(f.origin->sources().serves(*f.cfg.find_app("edge"), "s") == 2000);
  for (size_t loop = 0; loop < 2; ++loop) f.on(loop, [&] { reqs[loop].clear(); });
  f.on(1, [&] { pub.reset(); });
}

TEST_CASE("StreamSources: a failed release ends waiting viewers now with its reason; the next miss asks again") {
  Fixture f;
  Outcomes out;
  std::vector<std::unique_ptr<PlayRequest>> reqs;
  f.on(0, [&] {
    for (int i = 0; i < 3; ++i) {
      reqs.push_back(std::make_unique<PlayRequest>(*f.origin));
      reqs.back()->start(play("edge", "x"), out.done());
    }
  });
  CHECK(f.source.told == 1);
  const auto t0 = std::chrono::steady_clock::now();
  f.origin->sources().release("edge", "x", "every origin failed: rtmp://a: connection refused");
  CHECK(eventually([&] { return out.not_found == 3; }, 1000ms));
  CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);  // not the 2 s wait
  {
    std::lock_guard<std::mutex> lk(out.mu);
    for (const auto& r : out.reasons) CHECK(r.find("connection refused") != std::string::npos);
  }
  CHECK(f.origin->sources().active().empty());
  CHECK(f.origin->sources().last_failure("edge", "x").find("every origin failed") == 0);

  // Asked again; this time nothing comes: the request ends after the source's wait.
  f.source.wait_ms = 200;
  f.on(1, [&] {
    reqs.push_back(std::make_unique<PlayRequest>(*f.origin));
    reqs.back()->start(play("edge", "x"), out.done());
  });
  CHECK(f.source.told == 2);
  CHECK(eventually([&] { return out.not_found == 4; }, 2000ms));
  {
    std::lock_guard<std::mutex> lk(out.mu);
    CHECK(out.reasons.back().find("within 200 ms") != std::string::npos);
    CHECK(out.reasons.back().find("connection refused") != std::string::npos);  // the last failure, named
  }
  // A release without failure forgets the old failure.
  f.origin->sources().release("edge", "x", "");
  CHECK(f.origin->sources().last_failure("edge", "x").empty());
  f.on(0, [&] { reqs.clear(); });
  f.on(1, [&] { reqs.clear(); });
}

TEST_CASE("StreamSources: remembered failures are bounded") {
  Fixture f;
  for (size_t i = 0; i < StreamSources::kMaxFailures + 10; ++i)
    f.origin->sources().release("edge", "s" + std::to_string(i), "down");
  CHECK(f.origin->sources().last_failure("edge", "s0").empty());
  CHECK(f.origin->sources().last_failure("edge", "s" + std::to_string(StreamSources::kMaxFailures + 9)) == "down");
}

// The play alias seam (origin/play_alias.h): a play of one name reads the hub
// of another (a watermark's serve: replace); admission saw the asked name.
TEST_CASE("PlayAlias: a play of an aliased name gets the other stream's hub") {
  struct Alias : PlayAlias {
    std::string hub_for(const core::AppConfig& app, std::string_view stream) const override {
      return app.name == "plain" && stream == "shown" ? "behind" : "";
    }
  } alias;
  Fixture f(&alias);
  Outcomes out;
  std::unique_ptr<HubPublisher> pub;
  f.on(1, [&] {
    pub = std::make_unique<HubPublisher>(*f.origin, f.loops.at(1), HubPublisher::Source{"test", "behind"}, nullptr);
    REQUIRE(pub->start_admitted("plain", "behind").hub);
  });
  CHECK(f.origin->play_hub_name(f.cfg.find_app("plain"), "shown") == "behind");
  CHECK(f.origin->play_hub_name(f.cfg.find_app("plain"), "other") == "other");
  CHECK(f.origin->play_hub_name(nullptr, "shown") == "shown");
  std::vector<std::unique_ptr<PlayRequest>> reqs;
  std::shared_ptr<StreamHub> got;  // loop 0 only
  std::atomic<bool> have{false};
  f.on(0, [&] {
    reqs.push_back(std::make_unique<PlayRequest>(*f.origin));
    reqs.back()->start(play("plain", "shown"), [&](PlayRequest::Outcome o) {
      got = o.hub;
      have = got != nullptr;
    });
    reqs.push_back(std::make_unique<PlayRequest>(*f.origin));
    reqs.back()->start(play("plain", "other"), out.done());
  });
  CHECK(eventually([&] { return have && out.not_found == 1; }));
  f.on(0, [&] {
    REQUIRE(got);
    CHECK(got->name() == "behind");
    got.reset();
    reqs.clear();
  });
  f.on(1, [&] { pub.reset(); });
}
