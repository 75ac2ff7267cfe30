// Fuzz target: the fMP4 segment scan (protocol/fmp4_scan.h) on arbitrary
// file bytes, as a recovery after a crash would see them.
//
// Invariants checked (abort on violation):
//   - valid_bytes lies in [init_size, size]; fragments are ordered, inside it;
//   - every run indexes its track's samples, every sample's bytes lie inside
//     its fragment;
//   - the valid prefix alone scans clean (no tail) with the same samples: what
//     trim_segment keeps is a good file.
#include <cstdint>
#include <cstdlib>

#include "protocol/fmp4_scan.h"

using namespace weir;
using namespace weir::protocol;

namespace {

Fmp4ScanLimits small_limits() {
  Fmp4ScanLimits l;
  l.max_samples = 1 << 16;
  l.max_fragments = 4096;
  l.max_boxes = 8192;
  return l;
}

void check(const Fmp4Scan& s, size_t size) {
  if (s.init_size > s.valid_bytes || s.valid_bytes > size || s.file_size != size) abort();
  uint64_t prev_end = s.init_size;
  for (const auto& f : s.fragments) {
    if (f.offset < prev_end || f.end() > s.valid_bytes || f.end() < f.offset) abort();
    prev_end = f.end();
    for (const auto& r : f.runs) {
      if (r.track_index >= s.tracks.size()) abort();
      const auto& samples = s.tracks[r.track_index].samples;
      if (r.first_sample > samples.size() || r.sample_count > samples.size() - r.first_sample) abort();
      for (size_t i = 0; i < r.sample_count; ++i) {
        const auto& smp = samples[r.first_sample + i];
        if (smp.offset < f.offset || smp.offset > f.end() || smp.size > f.end() - smp.offset) abort();
      }
    }
  }
  if (s.tail.empty() != (s.valid_bytes == size)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  auto scan = scan_fmp4_bytes(in, small_limits());
  if (!scan.is_ok()) return 0;
  check(*scan, size);
  auto prefix = scan_fmp4_bytes(in.first(size_t(scan->valid_bytes)), small_limits());
  if (!prefix.is_ok() || !prefix->tail.empty() || prefix->sample_count() != scan->sample_count() ||
      prefix->fragments.size() != scan->fragments.size()) {
    abort();
  }
  return 0;
}
