// AssetRecording: one asset being recorded: its identity, its writer and the
// position of its timeline. It outlives the sessions that feed it: a
// publisher that comes back within resume_s gets a new RecordSession (maybe
// on another loop) that continues the same AssetRecording.
//
// Ownership: shared_ptr held by RecordService (while the asset is being
// recorded or waits for its publisher) and by the session feeding it.
// Thread: the fields under "session loop" are touched only by the loop of the
// session feeding the asset (one at a time: a new session takes the asset
// only after the previous one has closed its last segment); the fields under
// "service" are guarded by RecordService's mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "record/segment_writer.h"

namespace weir::origin {
class StreamHub;
}

namespace weir::record {

class RecordSession;

struct AssetRecording {
  // Immutable after creation.
  std::string id;
  std::string app;
  std::string stream;
  std::string dir;  // absolute (or relative to the working directory)
  int64_t started_wall_ms = 0;
  core::RecordConfig config;
  bool api_started = false;  // started through the admin API

  // Session loop.
  std::unique_ptr<SegmentWriter> writer;
  RecordSession* session = nullptr;
  std::atomic<uint32_t> next_segment{1};  // also read by API threads
  int64_t media_end_ms = -1;    // asset timeline (ms) just past the last sample written; -1: none yet
  int64_t last_wall_ms = 0;     // wall clock the last packet recorded reached the hub (HubPacket::arrival_ms)
  std::vector<std::string> segments;  // file names, in order

  // Service (RecordService::mu_).
  enum class Phase { kRecording, kWaiting, kFinalizing, kFailed };
  Phase phase = Phase::kRecording;
  uint64_t wait_generation = 0;  // a resume timer acts only if it still matches
  std::string failure;
  uint64_t gaps = 0;
  uint64_t sessions = 0;
  bool stop_requested = false;  // the API asked to stop: no resume
  // A publish that came while the last session was still closing its
  // segment: that session's end starts the next one on it.
  std::weak_ptr<origin::StreamHub> pending_hub;

  std::string segment_name(uint32_t n) const;
};

// True for the names segment_name() makes ("seg-NNNNNN.mp4"): what a
// directory scan or a URL may name as a segment.
bool is_segment_name(std::string_view name);

const char* phase_name(AssetRecording::Phase p);

}  // namespace weir::record
