// SnapshotPeriodic: a picture of every live stream of an app written to disk
// every apps.<app>.snapshot.interval_s (width, format, dir, keep), with a
// `snapshot.created` event per file (../shared/API.md "Events"):
//
//   {"type": "snapshot.created", "data": {"app", "stream", "path", "file",
//    "format", "width", "height", "bytes", "time"}}
//
// A StreamObserver (origin/stream_observer.h): a stream published in such an
// app gets a ticker on the publisher's loop (the app settings of the
// generation it was published under). Each tick reads the newest GOP there
// (snapshot_picture.h: refs to the shared packets, no copy), and one worker
// job (the snapshot pool) decodes it, encodes the picture and writes it
// (snapshot_files.h: tmp + fsync + rename, then retention). The ticker ends
// with the stream (on_stream_ended posts its end to its loop).
//
// Bounds and overflow actions: at most one job in flight per stream; a tick
// while it runs is skipped (weir_snapshot_ticks_skipped_total{reason="busy"}).
// A job the pool refuses (snapshot.max_queued) skips that tick
// ({reason="max_queued"}); a GOP cache with no keyframe yet (or an audio-only
// stream) skips it too ({reason="no_picture"}). A failed decode or write is
// logged and counted (weir_snapshot_files_failed_total); the stream and its
// viewers go on.
//
// Threads: observer callbacks on any loop; a ticker lives on its loop (timer,
// GOP read, job done); `emit` must be thread-safe and non-blocking
// (EventSender::emit). The ticker table is under mu_. Lifetime: created on
// the main thread before the loops start (Origin::add_observer), destroyed
// after they stop; the pool must outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/worker_pool.h"
#include "origin/stream_observer.h"
#include "transcode/snapshot_metrics.h"

namespace weir::transcode {

class SnapshotPeriodic final : public origin::StreamObserver {
 public:
  // `app`: the config app key of the stream (AppConfig::name), for per-app receivers.
  using Emit = std::function<void(std::string type, std::string data_json, std::string app)>;
  // `storage_root`: storage.root (snapshot dirs are under it).
  SnapshotPeriodic(core::WorkerPool& pool, std::string storage_root, SnapshotMetrics& metrics, Emit emit);
  ~SnapshotPeriodic() override;

  void on_stream_published(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) override;
  void on_stream_ended(const std::shared_ptr<origin::StreamHub>& s, const std::string& why) override;

  // Told of each picture written (on the stream's loop, after the event):
  // the recorder makes it a thumbnail of the asset being recorded. Set on
  // the main thread before the loops start; must not block.
  struct Picture {
    std::string app, stream, path;
    int64_t at_ms = 0;  // wall clock
    int width = 0, height = 0;
    uint64_t bytes = 0;
  };
  using PictureHook = std::function<void(core::Loop& loop, const Picture& p)>;
  void set_picture_hook(PictureHook h) { picture_hook_ = std::move(h); }

  // Any thread: tickers running now.
  size_t active() const;

 private:
  struct Ticker;
  friend struct Ticker;

  core::WorkerPool& pool_;
  const std::string root_;
  SnapshotMetrics& metrics_;
  Emit emit_;
  PictureHook picture_hook_;
  mutable std::mutex mu_;
  // By hub; each destroyed on its own loop (or here, after the loops stopped).
  std::map<const origin::StreamHub*, std::shared_ptr<Ticker>> tickers_;
};

}  // namespace weir::transcode
