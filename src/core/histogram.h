// Histogram: a Prometheus histogram of durations with fixed upper bounds in
// seconds (ascending, set at construction; values above the last count in
// +Inf). observe_us() from any thread: relaxed atomics, so a scrape may see
// a bucket one ahead of _count, which Prometheus tolerates. write() renders
// one label set's cumulative _bucket lines, _sum and _count (the caller
// writes # HELP / # TYPE once per family).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace weir::core {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds_s);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe_us(uint64_t us);
  // labels: `a="x",b="y"` or empty.
  void write(std::string& out, std::string_view name, std::string_view labels) const;

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations at or below bounds()[i] (cumulative); i == bounds().size(): all.
  uint64_t cumulative(size_t i) const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, not cumulative; last: above every bound
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> count_{0};
};

}  // namespace weir::core
