#include <catch2/catch.hpp>

#include "core/loop.h"
#include "origin/loop_hub.h"
#include "test_packets.h"

using namespace weir;
using namespace weir::origin;
using test::audio;
using test::hub;
using test::video;

namespace {
struct TestConsumer : Consumer {
  int notified = 0;
  std::string ended;
  size_t queued = 0;
  uint64_t too_slow = 0;
  void on_packets() override { ++notified; }
  void on_stream_end(const std::string& why) override { ended = why; }
  size_t queued_bytes() const override { return queued; }
  void on_too_slow(uint64_t b) override { too_slow = b; }
};

core::AppConfig app_cfg() {
  core::AppConfig a;
  a.viewer_skip_bytes = 200 * 1024;
  a.viewer_max_bytes = 1024 * 1024;
  return a;
}

void gop(LoopHub& lh, int64_t t, int frames = 25, size_t bytes = 1000) {
  for (int f = 0; f < frames; ++f) {
    lh.append(hub(video(t + f * 40, f == 0, bytes)));
    lh.append(hub(audio(t + f * 40 + 1)));
  }
}
}  // namespace

TEST_CASE("a new viewer gets configs first, then the GOP from the latest keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {60000, 64 << 20}, cfg);
  lh.append(hub(video(0, false, 30, true)));
  lh.append(hub(audio(0, 2, true)));
  gop(lh, 0);
  gop(lh, 1000);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLatestKeyframe);
  std::vector<PacketRef> out;
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  REQUIRE(out.size() >= 3);
  CHECK(out[0]->media().is_config());
  CHECK(out[0]->media().is_video());
  CHECK(out[1]->media().is_config());
  CHECK(out[1]->media().is_audio());
  CHECK(out[2]->media().is_keyframe());
  CHECK(out[2]->media().dts == 1000);
  CHECK(out.size() == 2 + 50);
  // Caught up: the next read is empty and marks the viewer waiting.
  out.clear();
  CHECK(lh.read(c, out, 1 << 30) == ReadResult::kEmpty);
  lh.append(hub(video(2000, false)));
  lh.notify();
  CHECK(c.notified == 1);
  lh.notify();  // nothing new: no second wake-up
  CHECK(c.notified == 1);
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  CHECK(out.size() == 1);
  lh.remove_consumer(&c);
}

TEST_CASE("without GOP cache a viewer starts at the next keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {60000, 64 << 20}, cfg);
  lh.append(hub(video(0, false, 30, true)));
  gop(lh, 0);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLiveEdge);
  std::vector<PacketRef> out;
  CHECK(lh.read(c, out, 1 << 30) == ReadResult::kEmpty);
  lh.append(hub(video(1000, false)));  // not a keyframe: still nothing
  lh.append(hub(video(1040, true)));
  lh.append(hub(video(1080, false)));
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  REQUIRE(out.size() == 3);
  CHECK(out[0]->media().is_config());  // config in effect, before the keyframe
  CHECK(out[1]->media().dts == 1040);
  CHECK(out[2]->media().dts == 1080);
  lh.remove_consumer(&c);
}

TEST_CASE("reads are capped in bytes and resume where they stopped") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {60000, 64 << 20}, cfg);
  gop(lh, 0, 25, 1000);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLatestKeyframe);
  std::vector<PacketRef> out;
  size_t total = 0;
  int reads = 0;
  while (lh.read(c, out, 10 * 1024) == ReadResult::kOk) {
    ++reads;
    total += out.size();
    out.clear();
  }
  CHECK(total == 50);
  CHECK(reads >= 3);
  lh.remove_consumer(&c);
}

TEST_CASE("a viewer far behind skips to the newest keyframe and the skip is counted") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {600000, 64 << 20}, cfg);
  gop(lh, 0);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLatestKeyframe);
  for (int g = 1; g <= 10; ++g) gop(lh, g * 1000);  // ~300 KiB behind, over the 200 KiB skip size
  std::vector<PacketRef> out;
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  CHECK(c.skips() == 1);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == 10000);
  lh.remove_consumer(&c);
}

TEST_CASE("a viewer whose cursor was evicted restarts at a keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  cfg.viewer_skip_bytes = 64 << 20;
  cfg.viewer_max_bytes = 128 << 20;
  LoopHub lh(loop, nullptr, {2000, 64 << 20}, cfg);
  gop(lh, 0);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLatestKeyframe);
  for (int g = 1; g <= 5; ++g) gop(lh, g * 1000);
  std::vector<PacketRef> out;
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  CHECK(c.skips() == 1);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == 5000);
  lh.remove_consumer(&c);
}

TEST_CASE("backlog past the hard cap is too slow, on read and on sweep") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {600000, 64 << 20}, cfg);
  gop(lh, 0);
  TestConsumer reader, stuck;
  lh.add_consumer(&reader, StartAt::kLatestKeyframe);
  lh.add_consumer(&stuck, StartAt::kLatestKeyframe);
  reader.queued = 2 << 20;  // 2 MiB stuck in its socket
  std::vector<PacketRef> out;
  CHECK(lh.read(reader, out, 1 << 30) == ReadResult::kTooSlow);
  stuck.queued = 4 << 20;
  lh.sweep();
  CHECK(stuck.too_slow > 1024 * 1024);
  CHECK(stuck.hub() == nullptr);  // detached before being told
  lh.remove_consumer(&reader);
}

TEST_CASE("the sweep skips a busy consumer ahead, so its next read starts at the newest keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {600000, 64 << 20}, cfg);
  gop(lh, 0);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLatestKeyframe);
  std::vector<PacketRef> out;
  REQUIRE(lh.read(c, out, 10 * 1024) == ReadResult::kOk);  // took a little, then its socket filled
  c.queued = 150 * 1024;
  for (int g = 1; g <= 3; ++g) gop(lh, g * 1000);
  lh.sweep();  // backlog ~ 150 KiB queued + ~100 KiB ring > 200 KiB skip size
  CHECK(c.skips() == 1);
  CHECK(c.too_slow == 0);
  c.queued = 0;
  out.clear();
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == 3000);
  lh.remove_consumer(&c);
}

TEST_CASE("end detaches every consumer and tells each why") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {60000, 64 << 20}, cfg);
  gop(lh, 0);
  TestConsumer a, b;
  lh.add_consumer(&a, StartAt::kLatestKeyframe);
  lh.add_consumer(&b, StartAt::kLiveEdge);
  lh.end("publisher left");
  CHECK(a.ended == "publisher left");
  CHECK(b.ended == "publisher left");
  CHECK(a.hub() == nullptr);
  CHECK(lh.consumer_count() == 0);
}

TEST_CASE("resync after lost packets restarts consumers at the next sync point") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  LoopHub lh(loop, nullptr, {60000, 64 << 20}, cfg);
  gop(lh, 0);
  TestConsumer c;
  lh.add_consumer(&c, StartAt::kLatestKeyframe);
  lh.resync();
  lh.append(hub(video(1000, false)));
  lh.append(hub(video(1040, true)));
  std::vector<PacketRef> out;
  REQUIRE(lh.read(c, out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().dts == 1040);
  CHECK(c.skips() == 1);
  lh.remove_consumer(&c);
}
