// AssetStore: the VOD assets on disk and in the catalogue. Every catalogue
// call runs on one worker-pool strand (the Catalogue is single-owner); merges
// and covers run as plain pool jobs; answers come back on the caller's loop.
//
// Layout under storage.root:
//   catalogue.sqlite3 (+ -wal, -shm)      the catalogue
//   <record.path expanded>/               one directory per asset:
//     seg-000001.mp4 ...                  fMP4 segments as recorded (init + fragments)
//     asset.mp4                           the merged MP4, moov first
//     index.m3u8                          HLS VOD over the segments (byte ranges)
//     cover.jpg                           the first keyframe, JPEG
//
// Lifecycle of an asset: recording -> merging -> ready (or failed). A crash
// leaves recording/merging rows: recover() merges them at start-up (cutting
// off a half-written last fragment).
//
// Thread: open() on the main thread before the loops start; everything else
// from a loop thread, callbacks on that loop. Bounds: the strand holds at
// most kMaxCatalogueJobs waiting calls; past it a call fails at once with
// "catalogue busy" (the API answers 503).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/loop.h"
#include "core/status.h"
#include "core/worker_pool.h"
#include "record/asset.h"
#include "record/catalogue.h"
#include "record/record_metrics.h"

namespace weir::record {

class AssetStore {
 public:
  static constexpr size_t kMaxCatalogueJobs = 4096;

  AssetStore(const core::Config& config, core::WorkerPool& pool, RecordMetrics& metrics);
  ~AssetStore();

  // Told when an asset becomes ready or failed ("asset.ready", "asset.failed"),
  // on a loop thread. Set on the main thread before the loops start.
  using EventHook = std::function<void(const char* type, const Asset& a)>;
  void set_event_hook(EventHook h) { event_hook_ = std::move(h); }

  // Creates storage.root and opens the catalogue (blocking; main thread).
  core::Status open();
  const std::string& root() const { return root_; }

  // Asset directory for a new asset (record.path expanded; not created).
  std::string asset_dir(const core::RecordConfig& rc, const std::string& app, const std::string& stream,
                        const std::string& id, int64_t wall_ms) const;

  template <class T>
  using Done = std::function<void(core::Result<T>)>;

  // Creates the asset's directory and its catalogue row (state recording).
  void create(core::Loop& loop, Asset a, std::function<void(core::Status)> done);
  // Merges a finished recording: state merging, merge, cover, state ready
  // (or failed with the reason). `done` (may be null) gets the final record.
  void finalize(core::Loop& loop, std::string id, Done<Asset> done);
  // Marks an asset failed with `why` (its files stay for inspection).
  void fail(core::Loop& loop, std::string id, std::string why);
  void get(core::Loop& loop, std::string id, Done<std::optional<Asset>> done);
  void list(core::Loop& loop, AssetQuery q, Done<AssetPage> done);
  // Applies `edit` to the record and stores it; nullopt: no such asset.
  void edit(core::Loop& loop, std::string id, std::function<core::Status(Asset&)> change,
            Done<std::optional<Asset>> done);
  // Deletes the files and the row. Refused (409-worthy error text starting
  // "busy:") while the asset is recording or merging.
  void remove(core::Loop& loop, std::string id, Done<bool> done);
  // Start-up: merges what a crash left in recording/merging.
  void recover(core::Loop& loop);
  // Applies the app's retention (record.retention_days / _bytes).
  void enforce_retention(core::Loop& loop, std::string app);

 private:
  template <class T>
  void on_catalogue(core::Loop& loop, std::function<core::Result<T>(Catalogue&)> work, Done<T> done);
  core::Result<Asset> merge_now(Asset a);  // pool thread

  const core::Config& config_;
  core::WorkerPool& pool_;
  RecordMetrics& metrics_;
  std::string root_;
  std::shared_ptr<Catalogue> catalogue_;  // used on strand_ only
  std::unique_ptr<core::WorkerPool::Strand> strand_;
  EventHook event_hook_;
};

}  // namespace weir::record
