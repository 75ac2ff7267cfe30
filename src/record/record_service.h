// RecordService: decides what is recorded and keeps the recordings in
// progress. A StreamObserver (origin/stream_observer.h): when a stream is
// published in an app whose record settings match (or the admin API asked),
// it starts a RecordSession on the publisher's loop. When the session ends
// with its stream, the asset waits resume_s for the publisher: a publish of
// the same stream in that time continues the asset (the pause kept as time),
// otherwise the asset is finalized (merged by the AssetStore).
//
// Thread: observer callbacks on the publisher's loop (see stream_observer.h);
// start()/stop()/list() from API loops; session callbacks on the session's
// loop. State shared between them is under mu_.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/timer.h"
#include "core/status.h"
#include "core/worker_pool.h"
#include "origin/stream_observer.h"
#include "record/asset_recording.h"
#include "record/asset_store.h"
#include "record/record_metrics.h"

namespace weir::origin {
class Origin;
}

namespace weir::record {

// A recording in progress, as the API shows it.
struct RecordingInfo {
  std::string asset;
  std::string app;
  std::string stream;
  std::string state;  // "recording", "waiting" (for its publisher, up to resume_s), "finalizing", "failed"
  int64_t started_at_ms = 0;
  uint64_t bytes = 0;
  uint64_t fragments = 0;
  uint64_t segments = 0;
  uint64_t gaps = 0;
  bool api_started = false;
  std::string error;
};

class RecordService final : public origin::StreamObserver {
 public:
  RecordService(origin::Origin& origin, core::WorkerPool& pool, AssetStore& store, RecordMetrics& metrics);
  ~RecordService() override;

  void on_stream_published(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) override;

  // Loop thread (an API handler): records the live stream app/stream from
  // now on, whatever the app's settings. Errors: "not_found: ..." (no such
  // live stream), "conflict: ..." (already recording).
  core::Result<RecordingInfo> start(const std::string& app, const std::string& stream);
  // Any loop thread: ends the recording of asset `id` now and merges it.
  // False if no recording has that id.
  bool stop(const std::string& id);
  std::vector<RecordingInfo> list();
  // Graceful shutdown (main thread, loops running): ends every recording now,
  // as stop() does; each is merged on the pool.
  void stop_all();
  // Any thread: recordings in progress, waiting for their publisher, or being
  // merged. 0 once every merge started has finished (ok or failed).
  size_t unfinished();
  std::optional<RecordingInfo> for_stream(const std::string& app, const std::string& stream);
  // A loop thread: a picture of app/stream was written at `path` (a periodic
  // snapshot, at wall time at_ms). While the stream records it becomes a
  // thumbnail of its asset (AssetStore::add_thumbnail); otherwise nothing.
  // Failures are logged; the recording goes on.
  void picture_taken(core::Loop& loop, const std::string& app, const std::string& stream, std::string path,
                     int64_t at_ms, int width, int height, uint64_t bytes);

  // Session callbacks (the session's loop).
  void session_ended(const std::shared_ptr<AssetRecording>& a, bool resume, const std::string& why, core::Loop& loop);
  void asset_failed(const std::shared_ptr<AssetRecording>& a, const std::string& why);
  void note_gap(AssetRecording& a);
  // max_asset_s reached: finalizes `old` and returns a new asset for the same
  // stream (null if it could not be created).
  std::shared_ptr<AssetRecording> continue_in_new_asset(const std::shared_ptr<AssetRecording>& old,
                                                         core::Loop& loop);

  RecordMetrics& metrics() { return metrics_; }

 private:
  bool wants(const core::AppConfig& app, const std::string& stream) const;
  std::shared_ptr<AssetRecording> new_asset(const std::string& app, const std::string& stream,
                                            const core::RecordConfig& rc, bool api_started, core::Loop& loop);
  void finalize(const std::shared_ptr<AssetRecording>& a, core::Loop& loop);
  RecordingInfo info(const AssetRecording& a) const;  // mu_ held
  static std::string key(const std::string& app, const std::string& stream) { return app + "/" + stream; }

  origin::Origin& origin_;
  core::WorkerPool& pool_;
  AssetStore& store_;
  RecordMetrics& metrics_;
  std::mutex mu_;
  // Recordings in progress or waiting for their publisher, by app/stream.
  std::map<std::string, std::shared_ptr<AssetRecording>> active_;
  // The loop of each asset's session (for stop() from another loop).
  std::map<const AssetRecording*, core::Loop*> session_loops_;
  // Assets set to kFinalizing whose AssetStore::finalize has not answered yet.
  size_t finalizing_ = 0;
  // resume_s timers, each created and freed on its own loop; those left when
  // the loops stop are freed by the destructor (a Timer allows that).
  std::map<core::Timer*, std::unique_ptr<core::Timer>> timers_;
};

// True if `name` matches one of the comma-separated patterns (* = any run).
bool stream_matches(const std::string& patterns, const std::string& name);

}  // namespace weir::record
