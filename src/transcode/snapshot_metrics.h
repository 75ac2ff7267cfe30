// Counters of live snapshots (on demand and periodic), written to /metrics as
// weir_snapshot_*. Thread: relaxed atomics, bumped from loops and workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace weir::transcode {

struct SnapshotMetrics {
  using Counter = std::atomic<uint64_t>;
  Counter requests{0};          // GET snapshot.jpg/.png admitted
  Counter decodes{0};           // GOPs decoded (on demand and periodic)
  Counter decode_failures{0};   // decodes that made no picture
  Counter encodes{0};           // pictures encoded (JPEG/PNG)
  Counter refused_waiters{0};   // requests answered 503: snapshot.max_waiters
  Counter refused_queue{0};     // requests answered 503: snapshot.max_queued
  Counter periodic_written{0};  // files written
  Counter periodic_skipped_busy{0};   // ticks skipped: the stream's previous file still in flight
  Counter periodic_skipped_queue{0};  // ticks skipped: snapshot.max_queued
  Counter periodic_no_picture{0};     // ticks with no keyframe in the GOP cache (or audio-only)
  Counter periodic_failed{0};   // decode, encode or write failed
  Counter periodic_deleted{0};  // files removed by retention (keep)
};

// Appends the weir_snapshot_* series; `hits` and `joined` come from the
// flights (answered from the cache; waited for a decode under way).
void write_snapshot_metrics(const SnapshotMetrics& m, uint64_t hits, uint64_t joined, std::string& out);

}  // namespace weir::transcode
