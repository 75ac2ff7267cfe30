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
// Object storage (storage.s3.enabled): a ready asset goes on to uploading ->
// uploaded. Its files (asset.mp4, index.m3u8, cover.jpg, the segments) go to
// <prefix><app>/<id>/<file>, one pool job per file (S3Client::sync_file:
// skipped when HeadObject shows it complete, else uploaded, then verified by
// HeadObject). All verified -> uploaded, Asset::remote = the key prefix, and
// then, with delete_local, the local MP4, segments and cover are deleted (the
// playlist stays: its segment URLs must keep resolving to Weir). A failed
// file retries the asset after backoff_ms * 2^n (a timer on the loop), up to
// max_retries; after that the asset is ready again with "upload failed: ..."
// in its error and its files kept. Nothing local is deleted unless every
// object was verified. recover() resumes assets left uploading and uploads
// ready ones (so a failed upload is retried at the next start); with s3 off
// it puts assets left uploading back to ready. remove() deletes the objects
// before the local files.
//
// Thread: open() on the main thread before the loops start; everything else
// from a loop thread, callbacks on that loop. Bounds: the strand holds at
// most kMaxCatalogueJobs waiting calls; past it a call fails at once with
// "catalogue busy" (the API answers 503).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_store.h"
#include "core/loop.h"
#include "core/status.h"
#include "core/timer.h"
#include "core/worker_pool.h"
#include "record/asset.h"
#include "record/catalogue.h"
#include "record/record_metrics.h"
#include "record/s3_client.h"

namespace weir::record {

class AssetStore {
 public:
  static constexpr size_t kMaxCatalogueJobs = 4096;

  AssetStore(const core::Config& config, core::WorkerPool& pool, RecordMetrics& metrics);
  ~AssetStore();

  // Told when an asset becomes ready, failed or uploaded ("asset.ready",
  // "asset.failed", "asset.uploaded"),
  // on a loop thread. Set on the main thread before the loops start.
  using EventHook = std::function<void(const char* type, const Asset& a)>;
  void set_event_hook(EventHook h) { event_hook_ = std::move(h); }
  // Per-app settings (retention) from then on come from the store's current
  // generation, so a reload changes them; storage.* stays as constructed.
  // Main thread, before the loops start; `configs` outlives the store.
  void follow(const core::ConfigStore& configs) { configs_ = &configs; }

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
  // Deletes the objects (if uploaded), the files and the row. Refused
  // (409-worthy error text starting "busy:") while the asset is recording,
  // merging or uploading.
  void remove(core::Loop& loop, std::string id, Done<bool> done);
  // Start-up: merges what a crash left in recording/merging; uploads (s3 on)
  // what was left uploading or is ready.
  void recover(core::Loop& loop);
  // Uploads a ready (or uploading) asset to storage.s3; no-op when s3 is off
  // or the asset is in another state. `attempt` counts retries (0 = first).
  void upload(core::Loop& loop, std::string id, int attempt = 0);

  // An asset and whether `file` (empty: its MP4) is on local disk.
  struct Located {
    Asset asset;
    bool local = false;
  };
  void locate(core::Loop& loop, std::string id, std::string file, Done<std::optional<Located>> done);
  // A presigned GET URL of the asset's `file` in object storage; nullopt when
  // s3 is off or the asset was not uploaded. Any thread.
  std::optional<std::string> presigned_url(const Asset& a, const std::string& file) const;
  bool s3_enabled() const { return s3_ != nullptr; }
  // Adds a picture taken while asset `id` records: `src` (a periodic
  // snapshot file, which its own retention may delete later) is hard-linked
  // (copied across file systems) to <asset dir>/thumbs/<at_ms>.<ext> and
  // listed in the catalogue. false: no such asset. The file goes with the
  // asset (remove, retention); it is not uploaded to object storage.
  void add_thumbnail(core::Loop& loop, std::string id, std::string src, Thumbnail t, Done<bool> done);
  void thumbnails(core::Loop& loop, std::string id, int limit, std::string cursor, Done<ThumbnailPage> done);
  // Applies the app's retention (record.retention_days / _bytes).
  void enforce_retention(core::Loop& loop, std::string app);

 private:
  template <class T>
  void on_catalogue(core::Loop& loop, std::function<core::Result<T>(Catalogue&)> work, Done<T> done);
  core::Result<Asset> merge_now(Asset a);  // pool thread
  struct UploadJob;
  void upload_step(core::Loop& loop, std::shared_ptr<UploadJob> job);
  void upload_done(core::Loop& loop, std::shared_ptr<UploadJob> job);
  void upload_failed(core::Loop& loop, std::shared_ptr<UploadJob> job, std::string why);
  // Runs `fn` on `loop` after `ms` (a Timer kept in timers_ until it fired).
  void after(core::Loop& loop, uint64_t ms, std::function<void()> fn);

  const core::Config& config_;
  const core::ConfigStore* configs_ = nullptr;
  core::WorkerPool& pool_;
  RecordMetrics& metrics_;
  std::string root_;
  std::shared_ptr<Catalogue> catalogue_;  // used on strand_ only
  std::unique_ptr<core::WorkerPool::Strand> strand_;
  // Null when storage.s3 is off. Pool jobs hold their own reference (they may
  // outlive the store at shutdown).
  std::shared_ptr<S3Client> s3_;
  // S3 requests run here (storage.s3.uploads threads), never on pool_: a slow
  // object store must not hold up recording I/O. At most kMaxUploadJobs
  // waiting; past it an upload retries later, a delete fails (API 503).
  static constexpr size_t kMaxUploadJobs = 4096;
  std::unique_ptr<core::WorkerPool> upload_pool_;
  std::mutex timers_mu_;          // guards timers_ (each Timer is used on its own loop only)
  std::vector<std::unique_ptr<core::Timer>> timers_;
  EventHook event_hook_;
};

}  // namespace weir::record
