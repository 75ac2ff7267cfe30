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
  ConsumerHandle h{*this};
  int notified = 0;
  std::string ended;
  size_t queued = 0;
  uint64_t too_slow = 0;
  void on_packets() override { ++notified; }
  void on_stream_end(const std::string& why) override { ended = why; }
  size_t queued_bytes() const override { return queued; }
  void on_too_slow(uint64_t b) override { too_slow = b; }
  uint64_t skips() const { return h.skips(); }
  bool attached() const { return h.attached(); }
};

ConsumerOptions viewer(StartAt at) { return ConsumerOptions{ConsumerPolicy::kViewer, at, false}; }
ConsumerOptions lossless(StartAt at) { return ConsumerOptions{ConsumerPolicy::kLossless, at, false}; }

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

std::shared_ptr<LoopHub> make_hub(core::Loop& loop, const core::AppConfig& cfg, GopRing::Limits limits) {
  return std::make_shared<LoopHub>(loop, nullptr, limits, cfg);
}
}  // namespace

TEST_CASE("a new viewer gets configs first, then the GOP from the latest keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  lh.append(hub(video(0, false, 30, true)));
  lh.append(hub(audio(0, 2, true)));
  gop(lh, 0);
  gop(lh, 1000);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
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
  CHECK(c.h.read(out, 1 << 30) == ReadResult::kEmpty);
  lh.append(hub(video(2000, false)));
  lh.notify();
  CHECK(c.notified == 1);
  lh.notify();  // nothing new: no second wake-up
  CHECK(c.notified == 1);
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(out.size() == 1);
  c.h.release();
}

TEST_CASE("without GOP cache a viewer starts at the next keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  lh.append(hub(video(0, false, 30, true)));
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLiveEdge));
  std::vector<PacketRef> out;
  CHECK(c.h.read(out, 1 << 30) == ReadResult::kEmpty);
  lh.append(hub(video(1000, false)));  // not a keyframe: still nothing
  lh.append(hub(video(1040, true)));
  lh.append(hub(video(1080, false)));
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  REQUIRE(out.size() == 3);
  CHECK(out[0]->media().is_config());  // config in effect, before the keyframe
  CHECK(out[1]->media().dts == 1040);
  CHECK(out[2]->media().dts == 1080);
  c.h.release();
}

TEST_CASE("reads are capped in bytes and resume where they stopped") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0, 25, 1000);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  size_t total = 0;
  int reads = 0;
  while (c.h.read(out, 10 * 1024) == ReadResult::kOk) {
    ++reads;
    total += out.size();
    out.clear();
  }
  CHECK(total == 50);
  CHECK(reads >= 3);
  c.h.release();
}

TEST_CASE("a viewer far behind skips to the newest keyframe and the skip is counted") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {600000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  for (int g = 1; g <= 10; ++g) gop(lh, g * 1000);  // ~300 KiB behind, over the 200 KiB skip size
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(c.skips() == 1);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == 10000);
  c.h.release();
}

TEST_CASE("a viewer whose cursor was evicted restarts at a keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  cfg.viewer_skip_bytes = 64 << 20;
  cfg.viewer_max_bytes = 128 << 20;
  auto lhp = make_hub(loop, cfg, {2000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  for (int g = 1; g <= 5; ++g) gop(lh, g * 1000);
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(c.skips() == 1);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == 5000);
  c.h.release();
}

TEST_CASE("backlog past the hard cap is too slow, on read and on sweep") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {600000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer reader, stuck;
  reader.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  stuck.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  reader.queued = 2 << 20;  // 2 MiB stuck in its socket
  std::vector<PacketRef> out;
  CHECK(reader.h.read(out, 1 << 30) == ReadResult::kTooSlow);
  stuck.queued = 4 << 20;
  lh.sweep();
  CHECK(stuck.too_slow > 1024 * 1024);
  CHECK(!stuck.attached());  // detached before being told
  reader.h.release();
}

TEST_CASE("the sweep skips a busy consumer ahead, so its next read starts at the newest keyframe") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {600000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 10 * 1024) == ReadResult::kOk);  // took a little, then its socket filled
  c.queued = 150 * 1024;
  for (int g = 1; g <= 3; ++g) gop(lh, g * 1000);
  lh.sweep();  // backlog ~ 150 KiB queued + ~100 KiB ring > 200 KiB skip size
  CHECK(c.skips() == 1);
  CHECK(c.too_slow == 0);
  c.queued = 0;
  out.clear();
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == 3000);
  c.h.release();
}

TEST_CASE("end detaches every consumer and tells each why") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer a, b;
  a.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  b.h.attach_to(lhp, viewer(StartAt::kLiveEdge));
  lh.end("publisher left");
  CHECK(a.ended == "publisher left");
  CHECK(b.ended == "publisher left");
  CHECK(!a.attached());
  CHECK(lh.consumer_count() == 0);
}

TEST_CASE("end lets each consumer read what it has left before detaching it") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  // A viewer whose socket write is in flight: it read the GOP, then held off.
  struct Holding : TestConsumer {
    std::vector<PacketRef> tail;
    bool attached_at_ending = false, ended_before = false;
    void on_stream_ending() override {
      attached_at_ending = h.attached();
      ended_before = !ended.empty();
      std::vector<PacketRef> got;  // read() appends, and says kOk while `got` is not empty
      while (h.read(got, 1 << 20) == ReadResult::kOk) {
        tail.insert(tail.end(), got.begin(), got.end());
        got.clear();
      }
    }
  } c;
  TestConsumer idle;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  idle.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 20) == ReadResult::kOk);
  out.clear();
  REQUIRE(c.h.read(out, 1 << 20) == ReadResult::kEmpty);
  lh.append(hub(video(1000, false)));
  lh.append(hub(audio(1001)));
  lh.end("publisher left");
  CHECK(c.attached_at_ending);
  CHECK_FALSE(c.ended_before);
  REQUIRE(c.tail.size() == 2);
  CHECK(c.tail[0]->media().dts == 1000);
  CHECK(c.tail[1]->media().dts == 1001);
  CHECK(c.ended == "publisher left");
  CHECK(idle.ended == "publisher left");  // the default on_stream_ending reads nothing
  CHECK(!c.attached());
  CHECK(lh.consumer_count() == 0);
}

TEST_CASE("resync after lost packets restarts consumers at the next sync point") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  lh.resync();
  lh.append(hub(video(1000, false)));
  lh.append(hub(video(1040, true)));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().dts == 1040);
  CHECK(c.skips() == 1);
  c.h.release();
}

TEST_CASE("a lossless consumer is never skipped or closed for lag") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {600000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, lossless(StartAt::kLatestKeyframe));
  c.queued = 16 << 20;  // far past viewer_max_bytes (1 MiB)
  for (int g = 1; g <= 20; ++g) gop(lh, g * 1000);
  lh.sweep();
  CHECK(c.too_slow == 0);
  CHECK(c.attached());
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(c.skips() == 0);
  CHECK(out.front()->media().dts == 0);           // from where it was, not the newest keyframe
  CHECK(out.back()->media().dts == 20000 + 24 * 40 + 1);
  CHECK(out.size() == 21 * 50);
}

TEST_CASE("a lossless consumer whose packets were evicted is told the exact span it lost") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {2000, 64 << 20});  // the ring keeps ~2 s
  LoopHub& lh = *lhp;
  lh.append(hub(video(0, false, 30, true)));
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, lossless(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 10 * 1024) == ReadResult::kOk);  // takes part of GOP 0
  const int64_t last = out.back()->media().dts;
  const uint64_t taken = out.size() - 1;                  // minus the config
  for (int g = 1; g <= 5; ++g) gop(lh, g * 1000);         // GOPs 0..2 are evicted
  out.clear();
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kGap);
  const ConsumerGap& gap = c.h.gap();
  CHECK(std::string(gap.cause) == "evicted");
  CHECK(gap.last_dts == last);
  CHECK(gap.lost_from_seq == 1 + taken);  // seq 0 is the config
  CHECK(gap.resume_dts == lh.ring().oldest_start()->dts);
  CHECK(gap.resume_seq == lh.ring().oldest_start()->seq);
  CHECK(gap.lost_packets == gap.resume_seq - gap.lost_from_seq);
  CHECK(out.empty());
  // It resumes at the oldest keyframe still held, config already known.
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().is_keyframe());
  CHECK(out.front()->media().dts == gap.resume_dts);
  CHECK(c.skips() == 0);
}

TEST_CASE("a lossless consumer learns of packets lost to an inbox overflow") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, lossless(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  lh.resync();
  CHECK_FALSE(c.h.wait_if_caught_up());  // the gap is due first
  lh.append(hub(video(1000, false)));
  lh.append(hub(video(1040, true)));
  out.clear();
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kGap);
  CHECK(std::string(c.h.gap().cause) == "inbox overflow");
  CHECK(c.h.gap().last_dts == 24 * 40 + 1);
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().dts == 1040);
}

TEST_CASE("a config is re-sent even when a new one lands at the address of one already sent") {
  // The consumer once recorded sent configs by address: a freed config's
  // address reused by a new config made the new one look sent. It holds refs
  // now, so the old packet cannot be freed while it matters.
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  cfg.viewer_skip_bytes = 64 << 20;
  cfg.viewer_max_bytes = 128 << 20;
  auto lhp = make_hub(loop, cfg, {1000, 64 << 20});
  LoopHub& lh = *lhp;
  const HubPacket* first_addr = nullptr;
  {
    PacketRef first = hub(video(0, false, 30, true));
    first_addr = first.get();
    lh.append(first);
  }
  gop(lh, 0);
  TestConsumer c;
  c.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  REQUIRE(c.h.read(out, 1 << 30) == ReadResult::kOk);
  REQUIRE(out.front()->media().is_config());
  // A second config replaces the first in the ring; the first is evicted.
  lh.append(hub(video(1000, false, 31, true)));
  for (int g = 1; g <= 4; ++g) gop(lh, g * 1000);
  // Try to get the first config's address back for a third, different config.
  PacketRef third;
  for (int i = 0; i < 1000; ++i) {
    third = hub(video(5000, false, 30, true));
    if (third.get() == first_addr) break;
  }
  lh.append(third);
  gop(lh, 5000);
  bool got_third = false;
  for (std::vector<PacketRef> batch; c.h.read(batch, 1 << 30) == ReadResult::kOk; batch.clear())
    for (auto& p : batch) got_third = got_third || p == third;
  CHECK(got_third);
}

TEST_CASE("releasing a handle from inside a notification is safe, and re-attaching starts over") {
  core::Loop loop(0);
  core::AppConfig cfg = app_cfg();
  auto lhp = make_hub(loop, cfg, {60000, 64 << 20});
  LoopHub& lh = *lhp;
  gop(lh, 0);
  struct Releasing : TestConsumer {
    TestConsumer* other = nullptr;
    void on_packets() override {
      ++notified;
      h.release();
      if (other) other->h.release();
    }
  } a;
  TestConsumer b;
  a.other = &b;
  a.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  b.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  std::vector<PacketRef> out;
  while (a.h.read(out, 1 << 30) == ReadResult::kOk) out.clear();
  while (b.h.read(out, 1 << 30) == ReadResult::kOk) out.clear();
  lh.append(hub(video(1000, true)));
  lh.notify();
  CHECK(a.notified == 1);
  CHECK(b.notified == 0);  // released before its turn
  CHECK(lh.consumer_count() == 0);
  a.h.attach_to(lhp, viewer(StartAt::kLatestKeyframe));
  out.clear();
  REQUIRE(a.h.read(out, 1 << 30) == ReadResult::kOk);
  CHECK(out.front()->media().dts == 1000);
  a.h.release();
}
