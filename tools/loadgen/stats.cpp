#include "loadgen/stats.h"

#include <algorithm>
#include <cmath>

namespace weir::loadgen {

LatencyHistogram::LatencyHistogram()
    : buckets_(size_t(kFineLimitUs / kFineStepUs + (kCoarseLimitUs - kFineLimitUs) / kCoarseStepUs + 1), 0) {}

void LatencyHistogram::add(int64_t us) {
  if (us < 0) {
    ++negative_;
    us = 0;
  }
  size_t i;
  if (us < kFineLimitUs) i = size_t(us / kFineStepUs);
  else if (us < kCoarseLimitUs) i = size_t(kFineLimitUs / kFineStepUs + (us - kFineLimitUs) / kCoarseStepUs);
  else i = buckets_.size() - 1;
  ++buckets_[i];
  ++count_;
  max_us_ = std::max(max_us_, us);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  negative_ += o.negative_;
  max_us_ = std::max(max_us_, o.max_us_);
}

double LatencyHistogram::percentile_ms(double q) const {
  if (!count_) return 0;
  uint64_t rank = uint64_t(std::ceil(q * double(count_)));
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      int64_t upper;
      size_t fine = size_t(kFineLimitUs / kFineStepUs);
      if (i < fine) upper = int64_t(i + 1) * kFineStepUs;
      else if (i + 1 < buckets_.size()) upper = kFineLimitUs + int64_t(i - fine + 1) * kCoarseStepUs;
      else upper = max_us_;
      return double(std::min(upper, max_us_)) / 1000.0;
    }
  }
  return max_ms();
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = size_t(std::ceil(q * double(values.size())));
  if (rank < 1) rank = 1;
  return values[std::min(rank, values.size()) - 1];
}

}  // namespace weir::loadgen
