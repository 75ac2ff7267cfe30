#include "transcode/snapshot_periodic.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/log_limiter.h"
#include "core/timer.h"
#include "origin/api/api_format.h"
#include "origin/stream_hub.h"
#include "protocol/av/picture_encoder.h"
#include "transcode/snapshot_files.h"
#include "transcode/snapshot_picture.h"

namespace weir::transcode {

using protocol::av::PictureFormat;

// One stream's periodic pictures. Everything on `loop`'s thread; destroying
// it (on that thread) stops the timer and discards a job's done.
struct SnapshotPeriodic::Ticker {
  Ticker(SnapshotPeriodic& owner, core::Loop& l, const std::shared_ptr<origin::StreamHub>& hub)
      : service(owner), loop(l), stream(hub), timer(l), token(owner.pool_.make_token()) {}

  void start() {
    const uint64_t ms = uint64_t(config.interval_s) * 1000;
    timer.start(ms, [this] { tick(); }, ms);
  }

  void tick() {
    SnapshotMetrics& m = service.metrics_;
    if (busy) {
      m.periodic_skipped_busy.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto hub = stream.lock();
    if (!hub) return;
    GopCollector gop = read_latest_gop(hub);
    if (!gop.complete()) {
      m.periodic_no_picture.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const int64_t wall = core::wall_clock_ms();
    const PictureFormat format = config.format == "png" ? PictureFormat::kPng : PictureFormat::kJpeg;
    struct Written {
      SnapshotFile file;
      int width = 0, height = 0;
    };
    auto work = [g = gop.take(), key = hub->key(), dir = dir, format, width = int(config.width),
                 keep = size_t(config.keep), wall, &m]() -> core::Result<Written> {
      m.decodes.fetch_add(1, std::memory_order_relaxed);
      auto frame = decode_latest_picture(g, key);
      if (!frame) {
        m.decode_failures.fetch_add(1, std::memory_order_relaxed);
        return frame.status();
      }
      m.encodes.fetch_add(1, std::memory_order_relaxed);
      auto pkt = protocol::av::encode_picture(**frame, format, width, "snapshot " + key);
      if (!pkt) return pkt.status();
      Written w;
      protocol::av::picture_size((*frame)->width, (*frame)->height, (*frame)->sample_aspect_ratio, width, w.width,
                                 w.height);
      auto file = write_snapshot_file(dir, snapshot_file_name(wall, format), (*pkt)->data, size_t((*pkt)->size), keep);
      if (!file) return file.status();
      w.file = std::move(*file);
      return w;
    };
    auto done = [this, wall, format](core::Result<Written> r) {
      busy = false;
      SnapshotMetrics& m = service.metrics_;
      if (!r) {
        m.periodic_failed.fetch_add(1, std::memory_order_relaxed);
        if (auto n = fail_log.allow(core::wall_clock_ms()))
          spdlog::warn("snapshot {}/{}: periodic picture failed: {} ({} similar before)", app, name, r.error(), *n - 1);
        return;
      }
      m.periodic_written.fetch_add(1, std::memory_order_relaxed);
      m.periodic_deleted.fetch_add(r->file.deleted, std::memory_order_relaxed);
      service.emit_("snapshot.created",
                    nlohmann::json{{"app", app},
                                   {"stream", name},
                                   {"path", r->file.path},
                                   {"file", r->file.name},
                                   {"format", std::string(protocol::av::picture_extension(format))},
                                   {"width", r->width},
                                   {"height", r->height},
                                   {"bytes", r->file.bytes},
                                   {"time", origin::api::rfc3339_ms(wall)}}
                        .dump(),
                    app_key);
      if (service.picture_hook_)
        service.picture_hook_(loop, Picture{app, name, r->file.path, wall, r->width, r->height, r->file.bytes});
    };
    busy = true;
    if (!service.pool_.submit(loop, token, std::move(work), std::move(done))) {
      busy = false;
      m.periodic_skipped_queue.fetch_add(1, std::memory_order_relaxed);
    }
  }

  SnapshotPeriodic& service;
  core::Loop& loop;
  std::weak_ptr<origin::StreamHub> stream;
  core::SnapshotConfig config;
  std::string app, name, app_key, dir;
  core::Timer timer;
  core::WorkerPool::Token token;  // destroyed (cancelled) on `loop`: no done after it
  bool busy = false;              // a job in flight
  core::LogLimiter fail_log;
};

SnapshotPeriodic::SnapshotPeriodic(core::WorkerPool& pool, std::string storage_root, SnapshotMetrics& metrics,
                                   Emit emit)
    : pool_(pool), root_(std::move(storage_root)), metrics_(metrics), emit_(std::move(emit)) {}

SnapshotPeriodic::~SnapshotPeriodic() = default;

void SnapshotPeriodic::on_stream_published(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent&) {
  const core::SnapshotConfig& cfg = s->app_config().snapshot;
  core::Loop* loop = core::Loop::current();
  if (cfg.interval_s <= 0 || !loop) return;
  auto t = std::make_shared<Ticker>(*this, *loop, s);
  t->config = cfg;
  t->app = s->app();
  t->name = s->name();
  t->app_key = s->app_config().name;
  t->dir = snapshot_dir(root_, cfg.dir, s->app(), s->name());
  {
    std::lock_guard<std::mutex> lk(mu_);
    tickers_[s.get()] = t;
  }
  t->start();
}

void SnapshotPeriodic::on_stream_ended(const std::shared_ptr<origin::StreamHub>& s, const std::string&) {
  std::shared_ptr<Ticker> t;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = tickers_.find(s.get());
    if (it == tickers_.end()) return;
    t = std::move(it->second);
    tickers_.erase(it);
  }
  core::Loop& loop = t->loop;
  // Destroyed on its loop (the timer and the token belong there). Refused
  // (the loop is stopping): the loop's shutdown closes the timer, and the
  // ticker is freed here after it.
  if (loop.on_loop_thread()) return;
  (void)loop.post([t = std::move(t)]() mutable { t.reset(); });
}

size_t SnapshotPeriodic::active() const {
  std::lock_guard<std::mutex> lk(mu_);
  return tickers_.size();
}

}  // namespace weir::transcode
