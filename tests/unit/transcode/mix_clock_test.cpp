// MixClock: an input's timestamps on the program's timeline (anchoring on
// the live edge, the settle window, re-anchoring on late or far-early data).
#include <catch2/catch.hpp>

#include "transcode/mix_clock.h"

using weir::transcode::MixClock;

TEST_CASE("mix clock: the live edge is presented kDelayMs after it arrived") {
  MixClock c;
  CHECK_FALSE(c.anchored());
  c.observe(5000, 100);  // input time 5000 arrives at program time 100
  REQUIRE(c.anchored());
  CHECK(c.to_program(5000) == 100 + MixClock::kDelayMs);
  // Steady arrival: no change.
  for (int64_t i = 1; i < 100; ++i) c.observe(5000 + i * 20, 100 + i * 20);
  CHECK(c.to_program(5000) == 100 + MixClock::kDelayMs);
  CHECK(c.reanchors() == 0);
}

TEST_CASE("mix clock: an attach burst settles on its newest packet") {
  MixClock c;
  // A GOP of one second arrives at once (the hub's latest keyframe on), then live.
  for (int64_t ts = 0; ts <= 1000; ts += 40) c.observe(ts, 50);
  CHECK(c.to_program(1000) == 50 + MixClock::kDelayMs);
  for (int64_t i = 1; i < 30; ++i) c.observe(1000 + i * 40, 50 + i * 40);
  CHECK(c.to_program(1000) == 50 + MixClock::kDelayMs);
  // Jitter within the delay after the settle window: nothing moves.
  c.observe(3000 + 40, 2090 + 150);
  CHECK(c.to_program(1000) == 50 + MixClock::kDelayMs);
  CHECK(c.reanchors() == 0);
}

TEST_CASE("mix clock: late data and jumps re-anchor, counted") {
  MixClock c;
  c.observe(0, 0);
  c.observe(2000, 2000);  // after the settle window, on time
  CHECK(c.reanchors() == 0);
  c.observe(2040, 2040 + MixClock::kDelayMs + 30);  // arrived after its presentation time
  CHECK(c.reanchors() == 1);
  CHECK(c.to_program(2040) == 2040 + MixClock::kDelayMs + 30 + MixClock::kDelayMs);
  c.observe(90000, 2400);  // a jump forward (another timeline)
  CHECK(c.reanchors() == 2);
  CHECK(c.to_program(90000) == 2400 + MixClock::kDelayMs);
  c.observe(100, 2420);  // and back
  CHECK(c.reanchors() == 3);
  CHECK(c.to_program(100) == 2420 + MixClock::kDelayMs);
  c.reset();
  CHECK_FALSE(c.anchored());
}
