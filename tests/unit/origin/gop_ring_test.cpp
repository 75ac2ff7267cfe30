#include <catch2/catch.hpp>

#include "origin/gop_ring.h"
#include "test_packets.h"

using namespace weir;
using namespace weir::origin;
using test::audio;
using test::hub;
using test::video;

namespace {
// Pushes `gops` GOPs of `frames` video frames (40 ms apart) with an audio
// packet per frame, after one video and one audio config.
void fill(GopRing& r, int gops, int frames, size_t frame_bytes = 1000, int64_t t0 = 0) {
  r.push(hub(video(t0, false, 40, true)));
  r.push(hub(audio(t0, 2, true)));
  int64_t t = t0;
  for (int g = 0; g < gops; ++g) {
    for (int f = 0; f < frames; ++f, t += 40) {
      r.push(hub(video(t, f == 0, frame_bytes)));
      r.push(hub(audio(t + 1)));
    }
  }
}
}  // namespace

TEST_CASE("start points are the video keyframes, with the configs in effect") {
  GopRing r({60000, 64 << 20});
  fill(r, 3, 25);
  const GopStart* latest = r.latest_start();
  REQUIRE(latest);
  CHECK(r.at(latest->seq)->media().is_keyframe());
  CHECK(latest->dts == 2 * 25 * 40);
  REQUIRE(latest->video_config);
  CHECK(latest->video_config->media().is_config());
  REQUIRE(latest->audio_config);
  CHECK(r.oldest_start()->dts == 0);
  CHECK(r.start_at_or_before(1500)->dts == 1000);
  CHECK(r.start_at_or_before(-1) == nullptr);
}

TEST_CASE("duration bound evicts whole GOPs and keeps the newest") {
  GopRing r({2000, 64 << 20});  // 2 s, GOPs are 1 s
  fill(r, 6, 25);
  // Evicted GOP by GOP: the oldest remaining packet is a keyframe.
  CHECK(r.at(r.first_seq())->media().is_keyframe());
  CHECK(r.oldest_start()->seq == r.first_seq());
  CHECK(r.evicted_gops() >= 3);
  CHECK(r.duration_ms() <= 2000 + 1000);
  // The configs are still known although their packets were evicted.
  REQUIRE(r.video_config());
  REQUIRE(r.latest_start()->video_config);
}

TEST_CASE("byte bound evicts whole GOPs") {
  GopRing r({600000, 100 * 1024});  // 100 KiB; a GOP is ~30 KiB
  fill(r, 10, 25);
  CHECK(r.bytes() <= 100 * 1024);
  CHECK(r.at(r.first_seq())->media().is_keyframe());
  CHECK(r.evicted_gops() >= 6);
}

TEST_CASE("a single GOP over the byte cap loses its head and its start point") {
  GopRing r({600000, 64 * 1024});
  fill(r, 1, 100, 1000);  // one 100-frame GOP of ~120 KiB
  CHECK(r.bytes() <= 64 * 1024);
  CHECK(r.latest_start() == nullptr);
  // The next keyframe is a start point again.
  r.push(hub(video(100 * 40, true)));
  REQUIRE(r.latest_start());
  CHECK(r.latest_start()->dts == 4000);
}

TEST_CASE("audio-only streams start anywhere; video makes keyframes the only starts") {
  GopRing r({600000, 64 << 20});
  r.push(hub(audio(0, 2, true)));
  for (int i = 0; i < 10; ++i) r.push(hub(audio(i * 23)));
  REQUIRE(r.latest_start());
  CHECK(r.latest_start()->dts == 9 * 23);
  r.push(hub(video(300, true)));
  r.push(hub(audio(301)));
  CHECK(r.at(r.latest_start()->seq)->media().is_video());
  CHECK(r.at(r.oldest_start()->seq)->media().is_video());
}

TEST_CASE("bytes_from counts what a cursor still has to read") {
  GopRing r({600000, 64 << 20});
  r.push(hub(video(0, true, 100)));   // body 105
  r.push(hub(audio(1, 10)));          // body 12
  r.push(hub(video(40, false, 200)));  // body 205
  CHECK(r.bytes_from(r.first_seq()) == 105 + 12 + 205);
  CHECK(r.bytes_from(r.first_seq() + 2) == 205);
  CHECK(r.bytes_from(r.end_seq()) == 0);
}
