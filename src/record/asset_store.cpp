#include "record/asset_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "record/asset_id.h"
#include "record/asset_recording.h"
#include "record/cover.h"
#include "record/mp4_merge.h"
#include "record/retention.h"
#include "record/segment_file.h"

namespace weir::record {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMp4 = "asset.mp4";
constexpr const char* kPlaylist = "index.m3u8";
constexpr const char* kCover = "cover.jpg";

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (is_segment_name(n) && e.is_regular_file(ec)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

// `object_type`: the esds objectTypeIndication of an 'mp4a' entry (MPEG-1/2
// audio is 'mp4a' too, ISO/IEC 14496-1 Table 5).
std::string codec_of(uint32_t entry, uint8_t object_type) {
  if (entry == 0x6d703461 && (object_type == 0x6B || object_type == 0x69)) return "mp3";
  switch (entry) {
    case 0x61766331: return "h264";  // avc1
    case 0x61766333: return "h264";  // avc3
    case 0x68766331: return "hevc";  // hvc1
    case 0x68657631: return "hevc";  // hev1
    case 0x61763031: return "av1";   // av01
    case 0x76703039: return "vp9";   // vp09
    case 0x6d703461: return "aac";   // mp4a
    case 0x4f707573: return "opus";  // Opus
    case 0x2e6d7033: return "mp3";   // .mp3
  }
  return "unknown";
}

std::string two(int v) { return fmt::format("{:02d}", v); }

}  // namespace

AssetStore::AssetStore(const core::Config& config, core::WorkerPool& pool, RecordMetrics& metrics)
    : config_(config),
      pool_(pool),
      metrics_(metrics),
      root_(config.storage.root),
      strand_(std::make_unique<core::WorkerPool::Strand>(pool, kMaxCatalogueJobs)) {
  if (config.storage.s3.enabled) {
    auto c = S3Client::make(config.storage.s3);
    if (c) {
      s3_ = std::move(*c);
      upload_pool_ = std::make_unique<core::WorkerPool>(int(config.storage.s3.uploads), kMaxUploadJobs, "weir-s3");
    } else {
      spdlog::error("record: object storage off: {}", c.error());
    }
  }
}

AssetStore::~AssetStore() {
  if (s3_) s3_->cancel();
  upload_pool_.reset();  // joins its threads: their requests fail at once now
  strand_->cancel();
}

core::Status AssetStore::open() {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return core::Status::errorf("storage.root: cannot create {}: {}", root_, ec.message());
  auto c = Catalogue::open(root_ + "/catalogue.sqlite3");
  if (!c) return core::Status::errorf("storage.root: {}", c.error());
  catalogue_ = std::shared_ptr<Catalogue>(std::move(*c));
  return core::Status::ok();
}

std::string AssetStore::asset_dir(const core::RecordConfig& rc, const std::string& app, const std::string& stream,
                                  const std::string& id, int64_t wall_ms) const {
  std::time_t t = std::time_t(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out;
  const std::string& p = rc.path;
  for (size_t i = 0; i < p.size();) {
    auto take = [&](const char* var, const std::string& value) {
      size_t n = std::strlen(var);
      if (p.compare(i, n, var) != 0) return false;
      out += value;
      i += n;
      return true;
    };
    if (p[i] == '{' && (take("{app}", app) || take("{stream}", stream) || take("{asset}", id) ||
                        take("{yyyy}", std::to_string(tm.tm_year + 1900)) || take("{mm}", two(tm.tm_mon + 1)) ||
                        take("{dd}", two(tm.tm_mday)) || take("{hh}", two(tm.tm_hour))))
      continue;
    out += p[i++];
  }
  return root_ + "/" + out;
}

template <class T>
void AssetStore::on_catalogue(core::Loop& loop, std::function<core::Result<T>(Catalogue&)> work, Done<T> done) {
  auto cat = catalogue_;
  bool ok = strand_->submit(
      loop, [cat, work = std::move(work)]() -> core::Result<T> { return work(*cat); },
      [done](core::Result<T> r) {
        if (done) done(std::move(r));
      });
  if (!ok && done) done(core::Status::error("catalogue busy: too many requests waiting"));
}

void AssetStore::create(core::Loop& loop, Asset a, std::function<void(core::Status)> done) {
  on_catalogue<bool>(
      loop,
      [a = std::move(a)](Catalogue& c) -> core::Result<bool> {
        // The row first: an asset whose directory cannot be made is listed,
        // failed, with the reason.
        if (auto st = c.insert(a); !st) return st;
        std::error_code ec;
        fs::create_directories(a.dir, ec);
        if (ec) {
          Asset x = a;
          x.state = AssetState::kFailed;
          x.error = fmt::format("mkdir {}: {}", a.dir, ec.message());
          x.ended_at_ms = core::wall_clock_ms();
          if (auto u = c.update(x); !u) return u.status();
          return core::Status::error(x.error);
        }
        return true;
      },
      [done](core::Result<bool> r) {
        if (done) done(r ? core::Status::ok() : r.status());
      });
}

void AssetStore::fail(core::Loop& loop, std::string id, std::string why) {
  on_catalogue<std::optional<Asset>>(
      loop,
      [id, why](Catalogue& c) -> core::Result<std::optional<Asset>> {
        auto a = c.get(id);
        if (!a || !*a) return a;
        Asset x = **a;
        x.state = AssetState::kFailed;
        x.error = why;
        x.ended_at_ms = x.ended_at_ms ? x.ended_at_ms : core::wall_clock_ms();
        x.updated_at_ms = core::wall_clock_ms();
        x.bytes = dir_bytes(x.dir);
        if (auto u = c.update(x); !u) return u.status();
        return std::optional<Asset>(x);
      },
      [this, id](core::Result<std::optional<Asset>> r) {
        if (!r) spdlog::error("record: asset {}: cannot mark it failed: {}", id, r.error());
        else if (r.value() && event_hook_) event_hook_("asset.failed", *r.value());
      });
}

core::Result<Asset> AssetStore::merge_now(Asset a) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> names = segment_files(a.dir);
  if (names.empty()) return core::Status::errorf("no segment files in {}", a.dir);
  MergeRequest req;
  for (const auto& n : names) {
    std::string path = a.dir + "/" + n;
    // A crash leaves at most a torn last fragment: cut it off so the segment
    // file itself is clean (the merge would use only the valid prefix anyway).
    auto scanned = scan_segment_file(path);
    if (scanned && scanned->scan.valid_bytes < scanned->scan.file_size) {
      spdlog::warn("record: asset {}: {} ends in a torn fragment ({}): cut at byte {} of {}", a.id, n,
                   scanned->scan.tail, scanned->scan.valid_bytes, scanned->scan.file_size);
      if (auto st = trim_segment(path, scanned->scan.valid_bytes); !st)
        spdlog::warn("record: asset {}: {}", a.id, st.message());
    }
    req.segments.push_back(std::move(path));
  }
  req.output = a.dir + "/" + kMp4;
  req.playlist = a.dir + "/" + kPlaylist;
  req.fsync = true;
  auto merged = merge_segments(req);
  if (!merged) return core::Status::errorf("merge: {}", merged.error());
  for (const auto& s : merged->skipped) {
    metrics_.segments_skipped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("record: asset {}: segment {} left out: {}", a.id, s.path, s.reason);
  }
  a.mp4 = kMp4;
  a.playlist = kPlaylist;
  a.segments = names;
  a.duration_s = merged->duration_s;
  a.gaps = int(merged->gaps);
  a.video_codec.clear();
  a.audio_codec.clear();
  for (const auto& t : merged->tracks) {
    std::string codec = t.sample_entries.empty() ? "unknown"
                        : codec_of(t.sample_entries.front(), t.object_types.empty() ? 0 : t.object_types.front());
    if (t.handler == 0x76696465) {  // vide
      a.video_codec = codec;
      a.width = t.width;
      a.height = t.height;
    } else if (t.handler == 0x736f756e) {  // soun
      a.audio_codec = codec;
    }
  }
  if (!a.video_codec.empty()) {
    if (auto st = make_cover(req.segments.front(), a.dir + "/" + kCover); st) a.cover = kCover;
    else spdlog::warn("record: asset {}: no cover: {}", a.id, st.message());
  }
  if (!merged->skipped.empty())
    a.error = fmt::format("{} of {} segments were corrupt and left out", merged->skipped.size(), names.size());
  a.bytes = dir_bytes(a.dir);
  a.state = AssetState::kReady;
  if (!a.ended_at_ms) a.ended_at_ms = a.started_at_ms + int64_t(a.duration_s * 1000);
  a.updated_at_ms = core::wall_clock_ms();
  metrics_.merge_us_total.fetch_add(
      uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count()),
      std::memory_order_relaxed);
  spdlog::info("record: asset {} ready: {:.3f} s, {} segments, {} bytes, merged in {} ms", a.id, a.duration_s,
               names.size(), a.bytes,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
  return a;
}

void AssetStore::finalize(core::Loop& loop, std::string id, Done<Asset> done) {
  core::Loop* l = &loop;
  // 1. recording -> merging (catalogue strand)
  on_catalogue<Asset>(
      loop,
      [id](Catalogue& c) -> core::Result<Asset> {
        auto a = c.get(id);
        if (!a) return a.status();
        if (!*a) return core::Status::errorf("no asset {}", id);
        Asset x = **a;
        x.state = AssetState::kMerging;
        if (!x.ended_at_ms) x.ended_at_ms = core::wall_clock_ms();
        x.updated_at_ms = core::wall_clock_ms();
        if (auto u = c.update(x); !u) return u.status();
        return x;
      },
      [this, l, id, done](core::Result<Asset> r) {
        if (!r) {
          spdlog::error("record: asset {}: cannot start its merge: {}", id, r.error());
          if (done) done(std::move(r));
          return;
        }
        // 2. merge + cover (a pool job: merges of different assets run side by side)
        Asset a = std::move(*r);
        bool queued = pool_.submit(
            *l, [this, a]() -> core::Result<Asset> { return merge_now(a); },
            [this, l, a, done](core::Result<Asset> merged) {
              // 3. ready or failed (catalogue strand)
              Asset out = merged ? *merged : a;
              if (!merged) {
                metrics_.merges_failed.fetch_add(1, std::memory_order_relaxed);
                spdlog::error("record: asset {} failed: {}", a.id, merged.error());
                out.state = AssetState::kFailed;
                out.error = merged.error();
                out.bytes = 0;
              } else {
                metrics_.merges_ok.fetch_add(1, std::memory_order_relaxed);
              }
              on_catalogue<Asset>(
                  *l,
                  [out](Catalogue& c) -> core::Result<Asset> {
                    Asset x = out;
                    if (x.state == AssetState::kFailed) x.bytes = dir_bytes(x.dir);
                    if (auto u = c.update(x); !u) return u.status();
                    return x;
                  },
                  [this, l, done](core::Result<Asset> stored) {
                    if (stored && event_hook_)
                      event_hook_(stored->state == AssetState::kReady ? "asset.ready" : "asset.failed", *stored);
                    if (stored && stored->state == AssetState::kReady) {
                      enforce_retention(*l, stored->app);
                      upload(*l, stored->id);
                    }
                    if (done) done(std::move(stored));
                  });
            });
        if (!queued) {
          spdlog::error("record: asset {}: worker pool full, merge refused; it is merged at the next start", id);
          if (done) done(core::Status::error("worker pool full"));
        }
      });
}

void AssetStore::get(core::Loop& loop, std::string id, Done<std::optional<Asset>> done) {
  on_catalogue<std::optional<Asset>>(
      loop, [id](Catalogue& c) { return c.get(id); }, std::move(done));
}

void AssetStore::list(core::Loop& loop, AssetQuery q, Done<AssetPage> done) {
  on_catalogue<AssetPage>(
      loop, [q](Catalogue& c) { return c.list(q); }, std::move(done));
}

void AssetStore::edit(core::Loop& loop, std::string id, std::function<core::Status(Asset&)> change,
                      Done<std::optional<Asset>> done) {
  on_catalogue<std::optional<Asset>>(
      loop,
      [id, change](Catalogue& c) -> core::Result<std::optional<Asset>> {
        auto a = c.get(id);
        if (!a || !*a) return a;
        Asset x = **a;
        if (auto st = change(x); !st) return st;
        x.updated_at_ms = core::wall_clock_ms();
        if (auto u = c.update(x); !u) return u.status();
        return std::optional<Asset>(x);
      },
      std::move(done));
}

void AssetStore::remove(core::Loop& loop, std::string id, Done<bool> done) {
  core::Loop* l = &loop;
  // 1. the row, and whether it may go (catalogue strand)
  on_catalogue<std::optional<Asset>>(
      loop,
      [id](Catalogue& c) -> core::Result<std::optional<Asset>> {
        auto a = c.get(id);
        if (!a || !*a) return a;
        if ((*a)->state == AssetState::kRecording || (*a)->state == AssetState::kMerging ||
            (*a)->state == AssetState::kUploading)
          return core::Status::errorf("busy: asset {} is {}", id, to_string((*a)->state));
        return a;
      },
      [this, l, id, done](core::Result<std::optional<Asset>> r) {
        if (!r || !*r) {
          if (done) done(r ? core::Result<bool>(false) : core::Result<bool>(r.status()));
          return;
        }
        Asset a = std::move(**r);
        // 3. the files and the row (catalogue strand)
        auto local = [this, l, id, done] {
          on_catalogue<bool>(
              *l,
              [id](Catalogue& c) -> core::Result<bool> {
                auto a = c.get(id);
                if (!a) return a.status();
                if (!*a) return false;
                // The directory came from our own row, and holds only this asset.
                std::error_code ec;
                fs::remove_all((*a)->dir, ec);
                if (ec) return core::Status::errorf("delete {}: {}", (*a)->dir, ec.message());
                return c.remove(id);
              },
              done);
        };
        if (a.remote.empty()) return local();
        if (!s3_) {
          spdlog::warn("record: asset {}: storage.s3 is off, its objects under {} stay", id, a.remote);
          return local();
        }
        // 2. the objects (pool job: blocking requests)
        std::vector<std::string> names = a.segments;
        for (const std::string* n : {&a.mp4, &a.playlist, &a.cover})
          if (!n->empty()) names.push_back(*n);
        std::shared_ptr<S3Client> s3 = s3_;
        RecordMetrics* m = &metrics_;
        bool queued = upload_pool_->submit(
            *l,
            [s3, m, names, prefix = a.remote]() -> core::Status {
              for (const std::string& n : names) {
                if (auto st = s3->remove(prefix + n); !st) return st;
                m->objects_deleted.fetch_add(1, std::memory_order_relaxed);
              }
              return core::Status::ok();
            },
            [id, done, local](core::Status st) {
              if (!st) {
                spdlog::error("record: asset {}: cannot delete its objects: {}", id, st.message());
                if (done) done(st);
                return;
              }
              local();
            });
        if (!queued && done) done(core::Status::error("object storage busy: too many requests waiting"));
      });
}

void AssetStore::recover(core::Loop& loop) {
  core::Loop* l = &loop;
  if (s3_) {
    on_catalogue<std::vector<Asset>>(
        loop, [](Catalogue& c) { return c.in_states({AssetState::kUploading, AssetState::kReady}); },
        [this, l](core::Result<std::vector<Asset>> r) {
          if (!r) return spdlog::error("record: recovery (uploads): {}", r.error());
          for (const Asset& a : *r) {
            if (a.state == AssetState::kUploading)
              spdlog::warn("record: asset {} was left uploading by the last run: resuming the upload", a.id);
            upload(*l, a.id);
          }
        });
  } else {
    // Nothing will finish these: back to ready (local files are whole: delete_local waits for uploaded).
    on_catalogue<size_t>(
        loop,
        [](Catalogue& c) -> core::Result<size_t> {
          auto r = c.in_states({AssetState::kUploading});
          if (!r) return r.status();
          for (Asset a : *r) {
            a.state = AssetState::kReady;
            a.error = "upload interrupted; storage.s3 is now off";
            if (auto u = c.update(a); !u) return u.status();
          }
          return r->size();
        },
        nullptr);
  }
  on_catalogue<std::vector<Asset>>(
      loop, [](Catalogue& c) { return c.in_states({AssetState::kRecording, AssetState::kMerging}); },
      [this, l](core::Result<std::vector<Asset>> r) {
        if (!r) {
          spdlog::error("record: recovery: {}", r.error());
          return;
        }
        for (const Asset& a : *r) {
          spdlog::warn("record: asset {} ({}/{}) was left {} by the last run: merging what was written", a.id, a.app,
                       a.stream, to_string(a.state));
          metrics_.assets_recovered.fetch_add(1, std::memory_order_relaxed);
          finalize(*l, a.id, nullptr);
        }
      });
}

struct AssetStore::UploadJob {
  Asset a;
  std::vector<std::string> files;  // names inside a.dir, in upload order
  size_t next = 0;
  int attempt = 0;
  uint64_t bytes = 0;  // sent in this attempt
  int64_t t0_ms = 0;
};

void AssetStore::upload(core::Loop& loop, std::string id, int attempt) {
  if (!s3_) return;
  core::Loop* l = &loop;
  // 1. ready/uploading -> uploading (catalogue strand)
  on_catalogue<std::optional<Asset>>(
      loop,
      [id](Catalogue& c) -> core::Result<std::optional<Asset>> {
        auto a = c.get(id);
        if (!a || !*a) return a;
        Asset x = **a;
        if ((x.state != AssetState::kReady && x.state != AssetState::kUploading) || x.mp4.empty())
          return std::optional<Asset>();  // deleted, failed, or nothing to upload
        x.state = AssetState::kUploading;
        x.updated_at_ms = core::wall_clock_ms();
        if (auto u = c.update(x); !u) return u.status();
        return std::optional<Asset>(x);
      },
      [this, l, id, attempt](core::Result<std::optional<Asset>> r) {
        if (!r) return spdlog::error("record: asset {}: cannot start its upload: {}", id, r.error());
        if (!*r) return;
        auto job = std::make_shared<UploadJob>();
        job->a = std::move(**r);
        job->attempt = attempt;
        job->t0_ms = core::wall_clock_ms();
        // The MP4 first (what players ask for), the playlist, the cover, the segments.
        for (const std::string* n : {&job->a.mp4, &job->a.playlist, &job->a.cover})
          if (!n->empty()) job->files.push_back(*n);
        for (const std::string& n : job->a.segments) job->files.push_back(n);
        spdlog::info("record: asset {}: uploading {} files to {} (attempt {})", id, job->files.size(),
                     s3_->asset_prefix(job->a.app, job->a.id), attempt + 1);
        upload_step(*l, std::move(job));
      });
}

void AssetStore::upload_step(core::Loop& loop, std::shared_ptr<UploadJob> job) {
  if (job->next == job->files.size()) return upload_done(loop, std::move(job));
  const std::string& name = job->files[job->next];
  std::string key = s3_->asset_prefix(job->a.app, job->a.id) + name;
  std::string path = job->a.dir + "/" + name;
  std::shared_ptr<S3Client> s3 = s3_;
  core::Loop* l = &loop;
  bool queued = upload_pool_->submit(
      loop, [s3, key, path]() { return s3->sync_file(key, path); },
      [this, l, job](core::Result<S3SyncResult> r) {
        if (!r) return upload_failed(*l, job, r.error());
        metrics_.upload_bytes.fetch_add(r->bytes_sent, std::memory_order_relaxed);
        if (!r->skipped) metrics_.objects_uploaded.fetch_add(1, std::memory_order_relaxed);
        job->bytes += r->bytes_sent;
        ++job->next;
        upload_step(*l, job);
      });
  if (!queued) upload_failed(loop, std::move(job), "object storage busy: too many uploads waiting");
}

void AssetStore::upload_done(core::Loop& loop, std::shared_ptr<UploadJob> job) {
  core::Loop* l = &loop;
  const std::string remote = s3_->asset_prefix(job->a.app, job->a.id);
  on_catalogue<std::optional<Asset>>(
      loop,
      [id = job->a.id, remote](Catalogue& c) -> core::Result<std::optional<Asset>> {
        auto a = c.get(id);
        if (!a || !*a) return a;
        Asset x = **a;
        x.state = AssetState::kUploaded;
        x.remote = remote;
        if (x.error.rfind("upload", 0) == 0) x.error.clear();
        x.updated_at_ms = core::wall_clock_ms();
        if (auto u = c.update(x); !u) return u.status();
        return std::optional<Asset>(x);
      },
      [this, l, job](core::Result<std::optional<Asset>> r) {
        if (!r) return spdlog::error("record: asset {}: uploaded, but the catalogue failed: {}", job->a.id, r.error());
        if (!*r) return;
        metrics_.uploads_ok.fetch_add(1, std::memory_order_relaxed);
        if (event_hook_) event_hook_("asset.uploaded", **r);
        spdlog::info("record: asset {} uploaded: {} files verified, {} bytes sent in {} ms", job->a.id,
                     job->files.size(), job->bytes, core::wall_clock_ms() - job->t0_ms);
        if (!config_.storage.s3.delete_local) return;
        // Every object was verified and the row says so: the local copies may go.
        Asset a = **r;
        bool queued = pool_.submit(
            *l,
            [a]() -> core::Status {
              std::error_code ec;
              for (const std::string* n : {&a.mp4, &a.cover})
                if (!n->empty()) fs::remove(a.dir + "/" + *n, ec);
              for (const std::string& n : a.segments) fs::remove(a.dir + "/" + n, ec);
              return core::Status::ok();
            },
            [this, l, id = a.id](core::Status) {
              on_catalogue<bool>(
                  *l,
                  [id](Catalogue& c) -> core::Result<bool> {
                    auto a = c.get(id);
                    if (!a || !*a) return false;
                    Asset x = **a;
                    x.bytes = dir_bytes(x.dir);
                    if (auto u = c.update(x); !u) return u.status();
                    return true;
                  },
                  nullptr);
            });
        if (!queued) spdlog::warn("record: asset {}: worker pool full, its local files stay", a.id);
      });
}

void AssetStore::upload_failed(core::Loop& loop, std::shared_ptr<UploadJob> job, std::string why) {
  const auto& sc = config_.storage.s3;
  const std::string id = job->a.id;
  if (job->attempt < sc.max_retries) {
    metrics_.upload_retries.fetch_add(1, std::memory_order_relaxed);
    uint64_t delay = uint64_t(sc.backoff_ms);
    for (int i = 0; i < job->attempt && delay < 600000; ++i) delay *= 2;
    delay = std::min<uint64_t>(delay, 600000);
    spdlog::warn("record: asset {}: upload failed (attempt {} of {}): {}; retrying in {} ms", id, job->attempt + 1,
                 sc.max_retries + 1, why, delay);
    core::Loop* l = &loop;
    int next = job->attempt + 1;
    return after(loop, delay, [this, l, id, next] { upload(*l, id, next); });
  }
  metrics_.uploads_failed.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("record: asset {}: upload failed after {} attempts: {}; it stays ready with its local files", id,
                job->attempt + 1, why);
  on_catalogue<bool>(
      loop,
      [id, why](Catalogue& c) -> core::Result<bool> {
        auto a = c.get(id);
        if (!a || !*a) return false;
        Asset x = **a;
        if (x.state != AssetState::kUploading) return false;
        x.state = AssetState::kReady;
        x.error = "upload failed: " + why;
        x.updated_at_ms = core::wall_clock_ms();
        if (auto u = c.update(x); !u) return u.status();
        return true;
      },
      nullptr);
}

void AssetStore::after(core::Loop& loop, uint64_t ms, std::function<void()> fn) {
  auto t = std::make_unique<core::Timer>(loop);
  core::Timer* raw = t.get();
  {
    std::lock_guard lk(timers_mu_);
    timers_.push_back(std::move(t));
  }
  core::Loop* l = &loop;
  raw->start(ms, [this, l, raw, fn = std::move(fn)] {
    fn();
    // Not inside its own callback: the timer goes at the next turn of the loop.
    (void)l->post([this, raw] {
      std::lock_guard lk(timers_mu_);
      timers_.erase(std::remove_if(timers_.begin(), timers_.end(), [raw](const auto& p) { return p.get() == raw; }),
                    timers_.end());
    });
  });
}

void AssetStore::locate(core::Loop& loop, std::string id, std::string file, Done<std::optional<Located>> done) {
  on_catalogue<std::optional<Located>>(
      loop,
      [id, file](Catalogue& c) -> core::Result<std::optional<Located>> {
        auto a = c.get(id);
        if (!a) return a.status();
        if (!*a) return std::optional<Located>();
        Located out;
        out.asset = std::move(**a);
        const std::string& name = file.empty() ? out.asset.mp4 : file;
        std::error_code ec;
        out.local = !name.empty() && fs::is_regular_file(out.asset.dir + "/" + name, ec);
        return std::optional<Located>(std::move(out));
      },
      std::move(done));
}

void AssetStore::add_thumbnail(core::Loop& loop, std::string id, std::string src, Thumbnail t, Done<bool> done) {
  on_catalogue<bool>(
      loop,
      [id = std::move(id), src = std::move(src), t = std::move(t)](Catalogue& c) mutable -> core::Result<bool> {
        auto a = c.get(id);
        if (!a) return a.status();
        if (!*a) return false;
        const Asset& asset = **a;
        std::string ext = fs::path(src).extension().string();
        if (ext != ".jpg" && ext != ".png") return core::Status::errorf("thumbnail {}: not a .jpg or .png", src);
        t.asset_id = asset.id;
        t.offset_ms = std::max<int64_t>(0, t.at_ms - asset.started_at_ms);
        t.file = fmt::format("thumbs/{}{}", t.at_ms, ext);
        const std::string dst = asset.dir + "/" + t.file;
        std::error_code ec;
        fs::create_directories(asset.dir + "/thumbs", ec);
        if (ec) return core::Status::errorf("thumbnail: mkdir {}/thumbs: {}", asset.dir, ec.message());
        fs::create_hard_link(src, dst, ec);
        if (ec == std::errc::cross_device_link) {
          ec.clear();
          fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
        }
        if (ec) return core::Status::errorf("thumbnail: {} -> {}: {}", src, dst, ec.message());
        auto added = c.add_thumbnail(t);
        if (!added || !*added) fs::remove(dst, ec);
        return added;
      },
      std::move(done));
}

void AssetStore::thumbnails(core::Loop& loop, std::string id, int limit, std::string cursor, Done<ThumbnailPage> done) {
  on_catalogue<ThumbnailPage>(
      loop, [id = std::move(id), limit, cursor = std::move(cursor)](Catalogue& c) { return c.thumbnails(id, limit, cursor); },
      std::move(done));
}

std::optional<std::string> AssetStore::presigned_url(const Asset& a, const std::string& file) const {
  if (!s3_ || a.remote.empty() || a.state != AssetState::kUploaded || file.empty()) return std::nullopt;
  return s3_->presign_get(a.remote + file, core::wall_clock_ms() / 1000);
}

void AssetStore::enforce_retention(core::Loop& loop, std::string app) {
  const std::shared_ptr<const core::Config> current = configs_ ? configs_->current() : nullptr;
  const core::AppConfig* ac = (current ? *current : config_).find_app(app);
  if (!ac || (ac->record.retention_days == 0 && ac->record.retention_bytes == 0)) return;
  const int64_t max_age_s = ac->record.retention_days * 86400;
  const uint64_t max_bytes = uint64_t(ac->record.retention_bytes);
  core::Loop* l = &loop;
  on_catalogue<std::vector<std::string>>(
      loop,
      [app, max_age_s, max_bytes](Catalogue& c) -> core::Result<std::vector<std::string>> {
        auto all = c.oldest_first(app, {AssetState::kRecording, AssetState::kMerging, AssetState::kReady,
                                        AssetState::kFailed, AssetState::kUploading, AssetState::kUploaded});
        if (!all) return all.status();
        std::vector<RetentionItem> items;
        for (const Asset& a : *all) items.push_back(RetentionItem{a.id, a.state, a.bytes, a.started_at_ms});
        return plan_retention(std::move(items), core::wall_clock_ms(), max_age_s, max_bytes);
      },
      [this, l, app](core::Result<std::vector<std::string>> doomed) {
        if (!doomed) return spdlog::warn("record: retention of app {}: {}", app, doomed.error());
        // remove() deletes the objects (if uploaded), the files and the row,
        // and refuses an asset that became busy since the plan.
        for (const std::string& id : *doomed)
          remove(*l, id, [this, id](core::Result<bool> r) {
            if (!r) return spdlog::warn("record: retention: cannot delete asset {}: {}", id, r.error());
            if (!*r) return;
            metrics_.assets_deleted_retention.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("record: retention deleted asset {}", id);
          });
      });
}

}  // namespace weir::record
