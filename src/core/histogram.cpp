#include "core/histogram.h"

#include <fmt/format.h>

#include <iterator>

namespace weir::core {

Histogram::Histogram(std::vector<double> bounds_s)
    : bounds_(std::move(bounds_s)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe_us(uint64_t us) {
  size_t i = 0;
  while (i < bounds_.size() && double(us) / 1e6 > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::cumulative(size_t i) const {
  uint64_t cum = 0;
  for (size_t b = 0; b <= i && b <= bounds_.size(); ++b) cum += buckets_[b].load(std::memory_order_relaxed);
  return cum;
}

void Histogram::write(std::string& out, std::string_view name, std::string_view labels) const {
  auto it = std::back_inserter(out);
  const std::string_view sep = labels.empty() ? "" : ",";
  uint64_t cum = 0;
  for (size_t b = 0; b <= bounds_.size(); ++b) {
    cum += buckets_[b].load(std::memory_order_relaxed);
    if (b < bounds_.size())
      fmt::format_to(it, "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds_[b], cum);
    else
      fmt::format_to(it, "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cum);
  }
  const std::string braces = labels.empty() ? std::string() : fmt::format("{{{}}}", labels);
  fmt::format_to(it, "{}_sum{} {}\n", name, braces, double(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  fmt::format_to(it, "{}_count{} {}\n", name, braces, count_.load(std::memory_order_relaxed));
}

}  // namespace weir::core
