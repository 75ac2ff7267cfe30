#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "core/histogram.h"

using weir::core::Histogram;

TEST_CASE("histogram buckets are cumulative in the text, values on a bound count in it, above the last in +Inf") {
  Histogram h({0.01, 0.1, 1.0});
  h.observe_us(5'000);      // 0.005 s
  h.observe_us(10'000);     // exactly 0.01 s: le="0.01"
  h.observe_us(50'000);     // 0.05 s
  h.observe_us(2'000'000);  // 2 s: +Inf only
  CHECK(h.count() == 4);
  CHECK(h.sum_us() == 2'065'000);
  CHECK(h.cumulative(0) == 2);
  CHECK(h.cumulative(1) == 3);
  CHECK(h.cumulative(2) == 3);
  CHECK(h.cumulative(3) == 4);
  std::string out;
  h.write(out, "x_seconds", "app=\"a\",stream=\"s\"");
  CHECK(out ==
        "x_seconds_bucket{app=\"a\",stream=\"s\",le=\"0.01\"} 2\n"
        "x_seconds_bucket{app=\"a\",stream=\"s\",le=\"0.1\"} 3\n"
        "x_seconds_bucket{app=\"a\",stream=\"s\",le=\"1\"} 3\n"
        "x_seconds_bucket{app=\"a\",stream=\"s\",le=\"+Inf\"} 4\n"
        "x_seconds_sum{app=\"a\",stream=\"s\"} 2.065\n"
        "x_seconds_count{app=\"a\",stream=\"s\"} 4\n");
}

TEST_CASE("histogram without labels; an empty one writes zeros") {
  Histogram h({0.5});
  std::string out;
  h.write(out, "y", "");
  CHECK(out == "y_bucket{le=\"0.5\"} 0\ny_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n");
}

TEST_CASE("histogram observed from several threads loses nothing") {
  Histogram h({0.001, 0.01});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&h, t] {
      for (int i = 0; i < 10000; ++i) h.observe_us(uint64_t(t) * 5000);
    });
  for (auto& t : ts) t.join();
  CHECK(h.count() == 40000);
  CHECK(h.cumulative(0) == 10000);  // 0 us
  CHECK(h.cumulative(1) == 30000);  // + 5 ms and 10 ms (on the bound)
  CHECK(h.cumulative(2) == 40000);  // + 15 ms (+Inf)
}
