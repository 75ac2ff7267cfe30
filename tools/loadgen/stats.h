// Measurements of a loadgen run.
//
// PlayerStats: one per player, owned by its loop's Runner (it outlives the
// player's connections so it can be read after the loops have stopped).
// LatencyHistogram: per loop, merged at the end. Both are written only by
// their loop's thread; the main thread reads them after the loops joined.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weir::loadgen {

// Times are monotonic µs (uv_hrtime() / 1000); -1 = not yet.
struct PlayerStats {
  int64_t connect_start_us = -1;
  int64_t first_byte_us = -1;      // first byte received from the server
  int64_t first_keyframe_us = -1;  // first video frame flagged as a keyframe
  int64_t first_media_us = -1;     // first audio/video frame
  int64_t last_media_us = -1;      // last audio/video frame (arrival)
  uint64_t bytes = 0;              // bytes read from sockets (all responses)
  uint64_t frames = 0;             // audio + video frames (configs excluded)
  uint32_t stalls = 0;
  uint32_t reconnects = 0;         // HLS: new connections after the server closed one
  uint32_t skips = 0;              // HLS: segments/parts skipped (fell behind, 404)
  bool started = false;            // connect attempted
  bool connected = false;          // reached the playing state
  bool failed = false;             // ended by an error before the run ended
  bool in_stall = false;
  std::string error;               // first error

  // Media time: highest dts (ms) received, and the reference point of the
  // steady window (first frame at least `warmup` after the first frame).
  bool have_ts = false;
  int64_t max_ts_ms = 0;
  int64_t ref_us = -1;
  int64_t ref_ts_ms = 0;
  double media_time_ratio = -1;    // set at the end; -1 = window too short

  void fail(std::string why) {
    if (!failed) {
      failed = true;
      error = std::move(why);
    }
  }
};

// Latency samples in µs: 10 µs buckets below 100 ms, 1 ms buckets up to 60 s,
// one overflow bucket. Percentiles are bucket upper bounds (<= 1 % error
// above 1 ms).
class LatencyHistogram {
 public:
  LatencyHistogram();
  void add(int64_t us);
  void merge(const LatencyHistogram& o);
  uint64_t count() const { return count_; }
  // q in [0,1]; 0 if empty. Result in ms.
  double percentile_ms(double q) const;
  double max_ms() const { return count_ ? double(max_us_) / 1000.0 : 0; }
  uint64_t negative() const { return negative_; }

 private:
  static constexpr int64_t kFineLimitUs = 100000;  // 100 ms
  static constexpr int64_t kFineStepUs = 10;
  static constexpr int64_t kCoarseLimitUs = 60000000;  // 60 s
  static constexpr int64_t kCoarseStepUs = 1000;
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
  uint64_t negative_ = 0;  // arrival before send (clock trouble); counted as 0
  int64_t max_us_ = 0;
};

// p-quantile (nearest rank) of values; 0 for an empty vector. Sorts a copy.
double percentile(std::vector<double> values, double q);

}  // namespace weir::loadgen
