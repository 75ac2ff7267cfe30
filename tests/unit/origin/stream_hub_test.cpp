#include <catch2/catch.hpp>

#include "core/loop.h"
#include "origin/loop_hub.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "test_packets.h"

using namespace weir;
using namespace weir::origin;
using test::audio;
using test::video;

namespace {

struct Fixture {
  core::Config cfg;
  core::LoopGroup loops{1};
  std::unique_ptr<Origin> origin;
  explicit Fixture(bool takeover = false, int64_t grace = 5000) {
    core::AppConfig app;
    app.allow_takeover = takeover;
    app.reconnect_grace_ms = grace;
    cfg.apps["live"] = app;
    origin = std::make_unique<Origin>(cfg, loops);
  }
  PublisherRef publisher(const char* peer) {
    auto p = std::make_shared<PublisherHandle>();
    p->loop = &loops.at(0);  // not running: a grace timer posted there never fires
    p->peer = peer;
    p->protocol = "test";
    return p;
  }
};

// Everything the master ring holds, as seen by a loop attaching now.
std::vector<core::MediaPacket> snapshot(Fixture& f, const std::shared_ptr<StreamHub>& hub) {
  auto lh = hub->attach(f.loops.at(0));
  std::vector<core::MediaPacket> out;
  for (uint64_t s = lh->ring().first_seq(); s < lh->ring().end_seq(); ++s) out.push_back(lh->ring().at(s)->media());
  hub->detach(lh);
  return out;
}

void gop(StreamHub& hub, const PublisherRef& p, int64_t t0, int frames = 25) {
  for (int i = 0; i < frames; ++i) {
    hub.publish(p, video(t0 + i * 40, i == 0));
    hub.publish(p, audio(t0 + i * 40 + 1));
  }
}

}  // namespace

TEST_CASE("a first publisher's timestamps pass through unchanged") {
  Fixture f;
  auto a = f.publisher("a");
  auto r = f.origin->registry().publish("live", "s", a);
  REQUIRE(r.hub);
  r.hub->publish(a, video(0, false, 30, true));
  gop(*r.hub, a, 1000);
  auto pkts = snapshot(f, r.hub);
  REQUIRE(pkts.size() == 51);
  CHECK(pkts[1].dts == 1000);
  CHECK(pkts.back().dts == 1000 + 24 * 40 + 1);
  for (auto& p : pkts) CHECK_FALSE(p.flags & core::packet_flags::kDiscontinuity);
}

TEST_CASE("a publisher coming back within the grace continues the timeline, flagged") {
  Fixture f;
  auto a = f.publisher("a");
  auto hub = f.origin->registry().publish("live", "s", a).hub;
  gop(*hub, a, 0);
  const int64_t last = 24 * 40 + 1;
  hub->end_publish(a, "test");
  CHECK(hub->state() == StreamHub::State::kGrace);
  auto b = f.publisher("b");
  auto again = f.origin->registry().publish("live", "s", b);
  REQUIRE(again.hub == hub);  // same stream, viewers keep their hub
  CHECK(hub->state() == StreamHub::State::kLive);
  hub->publish(b, video(0, false, 30, true));  // encoders restart at 0
  gop(*hub, b, 0);
  auto pkts = snapshot(f, hub);
  // The new publisher's first packet (its config) follows the old timeline
  // and carries the discontinuity mark packagers use.
  auto it = std::find_if(pkts.begin(), pkts.end(), [](auto& p) { return p.flags & core::packet_flags::kDiscontinuity; });
  REQUIRE(it != pkts.end());
  CHECK(it->is_config());
  CHECK(it->dts > last);
  int64_t prev = -1;
  for (auto& p : pkts) {
    if (p.is_video() && !p.is_config()) {
      CHECK(p.dts > prev);
      prev = p.dts;
    }
  }
  CHECK(f.origin->metrics().republish_total == 1);
  CHECK(hub->stats().publishes == 2);
}

TEST_CASE("a config is clamped to its own track's time, not to the other track's") {
  // A transcoded stream: the video runs 300 ms ahead of the audio (the
  // encoders' delay). An audio config sent again mid-stream must not land
  // at the video's time, ahead of the audio frames that follow it.
  Fixture f;
  auto a = f.publisher("a");
  auto hub = f.origin->registry().publish("live", "s", a).hub;
  hub->publish(a, video(0, true, 30, true));
  hub->publish(a, audio(0, 2, true));
  for (int i = 0; i <= 25; ++i) hub->publish(a, video(i * 40, i == 0));
  for (int i = 0; i <= 30; ++i) hub->publish(a, audio(i * 23));
  hub->publish(a, audio(690, 2, true));  // sent again, at the audio's time
  hub->publish(a, audio(31 * 23));
  hub->publish(a, video(800, false, 30, true));  // a video config behind the video: clamped to it
  auto pkts = snapshot(f, hub);
  int64_t last_audio = INT64_MIN, last_video = INT64_MIN;
  int audio_configs = 0;
  for (auto& p : pkts) {
    if (p.is_audio()) {
      CHECK(p.dts >= last_audio);
      last_audio = p.dts;
      if (p.is_config() && ++audio_configs == 2) CHECK(p.dts == 690);
    }
    if (p.is_video()) {
      CHECK(p.dts >= last_video);
      last_video = p.dts;
    }
  }
  CHECK(audio_configs == 2);
  CHECK(last_video == 1000);
}

TEST_CASE("a backwards jump within one publisher is rebased, small jitter is not") {
  Fixture f;
  auto a = f.publisher("a");
  auto hub = f.origin->registry().publish("live", "s", a).hub;
  gop(*hub, a, 10000);
  hub->publish(a, audio(10000 + 24 * 40 - 50));  // 50 ms back: interleaving jitter, kept
  gop(*hub, a, 0);                                // encoder reset to 0: rebased
  auto pkts = snapshot(f, hub);
  bool saw_jitter = false;
  int64_t max_video = 0;
  for (auto& p : pkts) {
    if (p.is_audio() && p.dts == 10000 + 24 * 40 - 50) saw_jitter = true;
    if (p.is_video()) {
      CHECK(p.dts >= max_video);
      max_video = p.dts;
    }
  }
  CHECK(saw_jitter);
  CHECK(max_video > 10000 + 24 * 40);
}

TEST_CASE("a second publisher is refused unless the app allows takeover") {
  SECTION("refused") {
    Fixture f(false);
    auto a = f.publisher("a");
    REQUIRE(f.origin->registry().publish("live", "s", a).hub);
    auto r = f.origin->registry().publish("live", "s", f.publisher("b"));
    CHECK_FALSE(r.hub);
    CHECK(r.refusal == PublishRefusal::kBadName);
    CHECK_THAT(r.reason, Catch::Contains("already being published"));
  }
  SECTION("taken over") {
    Fixture f(true);
    auto a = f.publisher("a");
    auto hub = f.origin->registry().publish("live", "s", a).hub;
    auto b = f.publisher("b");
    auto r = f.origin->registry().publish("live", "s", b);
    REQUIRE(r.hub == hub);
    // The old publisher's packets are ignored from now on.
    gop(*hub, a, 0, 5);
    CHECK(hub->stats().packets == 0);
    gop(*hub, b, 0, 5);
    CHECK(hub->stats().packets == 10);
    CHECK(f.origin->metrics().takeovers_total == 1);
  }
}

TEST_CASE("with no grace the stream ends with its publisher and leaves the registry") {
  Fixture f(false, 0);
  auto a = f.publisher("a");
  auto hub = f.origin->registry().publish("live", "s", a).hub;
  hub->end_publish(a, "test");
  CHECK(hub->state() == StreamHub::State::kEnded);
  CHECK(f.origin->registry().find("live", "s") == nullptr);
  CHECK(hub->attach(f.loops.at(0)) == nullptr);
}

TEST_CASE("unknown apps and illegal names are refused with reasons") {
  Fixture f;
  auto r = f.origin->registry().publish("other", "s", f.publisher("a"));
  CHECK(r.refusal == PublishRefusal::kUnknownApp);
  auto bad = f.origin->registry().publish("live", "../x", f.publisher("a"));
  CHECK(bad.refusal == PublishRefusal::kInvalidName);
  CHECK_THAT(bad.reason, Catch::Contains("illegal stream name"));
}
