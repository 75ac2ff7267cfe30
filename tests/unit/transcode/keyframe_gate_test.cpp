// KeyframeGate: the drop-to-the-next-keyframe overflow action shared by
// TranscodeJob and MixJob (a refusing "strand" scripted here).
#include <catch2/catch.hpp>

#include <vector>

#include "transcode/keyframe_gate.h"

using namespace weir;
using transcode::KeyframeGate;

namespace {
core::MediaPacket pkt(core::TrackType t, uint8_t flags, int64_t ts) {
  core::MediaPacket m;
  m.track = t;
  m.flags = flags;
  m.dts = m.pts = ts;
  return m;
}
const auto kV = core::TrackType::kVideo;
const auto kA = core::TrackType::kAudio;
constexpr uint8_t kKey = core::packet_flags::kKeyframe, kCfg = core::packet_flags::kConfig;

struct Strand {
  bool open = true;
  std::vector<core::MediaPacket> got;
  bool operator()(const core::MediaPacket& p) {
    if (!open) return false;
    got.push_back(p);
    return true;
  }
};
}  // namespace

TEST_CASE("keyframe gate: passes everything while the strand takes it") {
  KeyframeGate g;
  Strand s;
  for (const auto& m : {pkt(kV, kCfg, 0), pkt(kV, kKey, 0), pkt(kA, 0, 10), pkt(kV, 0, 40)}) {
    auto o = g.offer(m, s);
    CHECK(o.sent);
    CHECK_FALSE(o.resumed);
    CHECK_FALSE(o.began_dropping);
  }
  CHECK(s.got.size() == 4);
  CHECK_FALSE(g.dropping());
}

TEST_CASE("keyframe gate: a refusal drops up to the next keyframe, which goes after the latest config") {
  KeyframeGate g;
  Strand s;
  g.offer(pkt(kV, kCfg, 0), s);
  g.offer(pkt(kV, kKey, 0), s);
  s.open = false;
  auto o = g.offer(pkt(kV, 0, 40), s);
  CHECK_FALSE(o.sent);
  CHECK(o.began_dropping);
  CHECK(g.dropping());
  s.open = true;
  // Inter frames, audio and a new config wait; the config is remembered.
  CHECK_FALSE(g.offer(pkt(kV, 0, 80), s).sent);
  CHECK_FALSE(g.offer(pkt(kA, 0, 90), s).sent);
  CHECK_FALSE(g.offer(pkt(kV, kCfg, 100), s).sent);
  CHECK(s.got.size() == 2);
  o = g.offer(pkt(kV, kKey, 120), s);
  CHECK(o.sent);
  CHECK(o.resumed);
  CHECK_FALSE(o.began_dropping);
  REQUIRE(s.got.size() == 4);
  CHECK(s.got[2].is_config());
  CHECK(s.got[2].dts == 100);  // the latest config, then the keyframe
  CHECK(s.got[3].dts == 120);
  CHECK(g.offer(pkt(kA, 0, 130), s).sent);
}

TEST_CASE("keyframe gate: a refused config keeps dropping; a gap drops; reset forgets") {
  KeyframeGate g;
  int calls = 0;
  auto refuse_config = [&](const core::MediaPacket& p) {
    ++calls;
    return !p.is_config();
  };
  g.offer(pkt(kV, kCfg, 0), [](const core::MediaPacket&) { return true; });
  g.gap();
  CHECK(g.dropping());
  auto o = g.offer(pkt(kV, kKey, 40), refuse_config);
  CHECK_FALSE(o.sent);  // the config was refused: the keyframe is not sent without it
  CHECK(calls == 1);
  CHECK(g.dropping());
  g.reset();
  CHECK_FALSE(g.dropping());
  g.gap();
  Strand s;
  o = g.offer(pkt(kV, kKey, 80), s);  // no config known since the reset: the keyframe alone
  CHECK(o.sent);
  CHECK(s.got.size() == 1);
}
