#include "record/record_service.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/timer.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "record/asset_id.h"
#include "record/record_session.h"

namespace weir::record {

namespace {

bool glob_match(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace

bool stream_matches(const std::string& patterns, const std::string& name) {
  size_t start = 0;
  while (start <= patterns.size()) {
    size_t comma = patterns.find(',', start);
    std::string_view item(patterns.data() + start, (comma == std::string::npos ? patterns.size() : comma) - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && glob_match(item, name)) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string AssetRecording::segment_name(uint32_t n) const { return fmt::format("seg-{:06d}.mp4", n); }

bool is_segment_name(std::string_view n) {
  return n.size() == 14 && n.substr(0, 4) == "seg-" && n.substr(10) == ".mp4" &&
         std::all_of(n.begin() + 4, n.begin() + 10, [](char c) { return c >= '0' && c <= '9'; });
}

const char* phase_name(AssetRecording::Phase p) {
  switch (p) {
    case AssetRecording::Phase::kRecording: return "recording";
    case AssetRecording::Phase::kWaiting: return "waiting";
    case AssetRecording::Phase::kFinalizing: return "finalizing";
    case AssetRecording::Phase::kFailed: return "failed";
  }
  return "?";
}

RecordService::RecordService(origin::Origin& origin, core::WorkerPool& pool, AssetStore& store,
                             RecordMetrics& metrics)
    : origin_(origin), pool_(pool), store_(store), metrics_(metrics) {}

RecordService::~RecordService() = default;

bool RecordService::wants(const core::AppConfig& app, const std::string& stream) const {
  return app.record.enabled && stream_matches(app.record.streams, stream);
}

std::shared_ptr<AssetRecording> RecordService::new_asset(const std::string& app, const std::string& stream,
                                                         const core::RecordConfig& rc, bool api_started,
                                                         core::Loop& loop) {
  auto a = std::make_shared<AssetRecording>();
  const int64_t now = core::wall_clock_ms();
  a->id = new_asset_id(now);
  a->app = app;
  a->stream = stream;
  a->config = rc;
  a->api_started = api_started;
  a->started_wall_ms = now;
  a->dir = store_.asset_dir(rc, app, stream, a->id, now);
  SegmentWriter::Options opt;
  opt.max_queued_bytes = size_t(origin_.config().storage.writer_queue_bytes);
  opt.fsync = fsync_policy(rc.fsync);
  std::weak_ptr<AssetRecording> weak = a;
  a->writer = std::make_unique<SegmentWriter>(pool_, loop, opt, metrics_, [this, weak](const std::string& why) {
    auto s = weak.lock();
    if (!s) return;
    if (s->session) s->session->on_write_failed(why);
    else asset_failed(s, why);
  });
  Asset row;
  row.id = a->id;
  row.app = app;
  row.stream = stream;
  row.state = AssetState::kRecording;
  row.started_at_ms = now;
  row.dir = a->dir;
  row.created_at_ms = now;
  row.updated_at_ms = now;
  store_.create(loop, std::move(row), [this, weak](core::Status st) {
    if (st) return;
    auto s = weak.lock();
    if (!s) return;
    spdlog::error("record: asset {}: cannot create it: {}", s->id, st.message());
    metrics_.failed_open_error.fetch_add(1, std::memory_order_relaxed);
    if (s->session) s->session->on_write_failed(st.message());
    else asset_failed(s, st.message());
  });
  metrics_.recordings_started.fetch_add(1, std::memory_order_relaxed);
  return a;
}

void RecordService::on_stream_published(const std::shared_ptr<origin::StreamHub>& hub, const origin::PublishEvent&) {
  core::Loop* loop = core::Loop::current();
  if (!loop) return;
  const std::string k = key(hub->app(), hub->name());
  std::shared_ptr<AssetRecording> a;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = active_.find(k);
    if (it != active_.end()) {
      auto& cur = it->second;
      if (cur->phase == AssetRecording::Phase::kWaiting) {
        cur->phase = AssetRecording::Phase::kRecording;
        ++cur->wait_generation;
        ++cur->sessions;
        session_loops_[cur.get()] = loop;
        a = cur;
        spdlog::info("record {}: publisher back within resume_s: asset {} continues", k, a->id);
      } else {
        // The previous session is still closing its segment; it resumes the
        // asset for this stream when it is done (session_ended).
        cur->pending_hub = hub;
        return;
      }
    } else if (wants(hub->app_config(), hub->name())) {
      a = new_asset(hub->app(), hub->name(), hub->app_config().record, false, *loop);
      a->sessions = 1;
      active_[k] = a;
      session_loops_[a.get()] = loop;
      metrics_.recordings_active.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (a) RecordSession::start(*this, hub, a);
}

core::Result<RecordingInfo> RecordService::start(const std::string& app, const std::string& stream) {
  core::Loop* loop = core::Loop::current();
  auto hub = origin_.registry().find(app, stream);
  if (!hub || !loop) return core::Status::errorf("not_found: no live stream {}/{}", app, stream);
  std::shared_ptr<AssetRecording> a;
  RecordingInfo out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const std::string k = key(app, stream);
    if (auto it = active_.find(k); it != active_.end() && it->second->phase != AssetRecording::Phase::kFailed &&
                                   it->second->phase != AssetRecording::Phase::kFinalizing)
      return core::Status::errorf("conflict: {}/{} is already being recorded into asset {}", app, stream,
                                  it->second->id);
    a = new_asset(app, stream, hub->app_config().record, true, *loop);
    a->sessions = 1;
    active_[k] = a;
    session_loops_[a.get()] = loop;
    metrics_.recordings_active.fetch_add(1, std::memory_order_relaxed);
    out = info(*a);
  }
  if (!RecordSession::start(*this, hub, a)) return core::Status::errorf("not_found: {}/{} just ended", app, stream);
  return out;
}

bool RecordService::stop(const std::string& id) {
  core::Loop* here = core::Loop::current();
  std::shared_ptr<AssetRecording> a;
  core::Loop* loop = nullptr;
  bool waiting = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [k, v] : active_)
      if (v->id == id) a = v;
    if (!a || a->stop_requested || a->phase == AssetRecording::Phase::kFailed ||
        a->phase == AssetRecording::Phase::kFinalizing)
      return false;
    a->stop_requested = true;
    if (a->phase == AssetRecording::Phase::kWaiting) {
      waiting = true;
      a->phase = AssetRecording::Phase::kFinalizing;
      ++finalizing_;
      ++a->wait_generation;
      active_.erase(key(a->app, a->stream));
      session_loops_.erase(a.get());
      metrics_.recordings_active.fetch_sub(1, std::memory_order_relaxed);
    } else {
      loop = session_loops_[a.get()];
    }
  }
  if (waiting) {
    finalize(a, here ? *here : origin_.loops().at(0));
    return true;
  }
  if (loop) {
    loop->post([a] {
      if (a->session) a->session->stop("stopped through the admin API");
      // else: the session is closing its segment; session_ended sees stop_requested
    });
  }
  return true;
}

void RecordService::session_ended(const std::shared_ptr<AssetRecording>& a, bool resume, const std::string& why,
                                  core::Loop& loop) {
  std::shared_ptr<origin::StreamHub> pending;
  bool do_finalize = false;
  uint64_t gen = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (a->phase != AssetRecording::Phase::kRecording) return;
    pending = a->pending_hub.lock();
    a->pending_hub.reset();
    if (pending && pending->state() != origin::StreamHub::State::kEnded && !a->stop_requested && resume) {
      ++a->sessions;
      session_loops_[a.get()] = &loop;
    } else {
      pending.reset();
      if (!resume || a->stop_requested || a->config.resume_s == 0) {
        do_finalize = true;
        a->phase = AssetRecording::Phase::kFinalizing;
        ++finalizing_;
        active_.erase(key(a->app, a->stream));
        session_loops_.erase(a.get());
        metrics_.recordings_active.fetch_sub(1, std::memory_order_relaxed);
      } else {
        a->phase = AssetRecording::Phase::kWaiting;
        gen = ++a->wait_generation;
      }
    }
  }
  if (pending) {
    spdlog::info("record {}/{}: publisher back: asset {} continues", a->app, a->stream, a->id);
    RecordSession::start(*this, pending, a);
    return;
  }
  if (do_finalize) return finalize(a, loop);
  spdlog::info("record {}/{}: {}; asset {} waits {} s for the publisher", a->app, a->stream, why, a->id,
               a->config.resume_s);
  auto owned = std::make_unique<core::Timer>(loop);
  core::Timer* timer = owned.get();
  {
    std::lock_guard<std::mutex> lk(mu_);
    timers_[timer] = std::move(owned);
  }
  core::Loop* l = &loop;
  timer->start(uint64_t(a->config.resume_s) * 1000, [this, a, gen, timer, l] {
    // Freed after this callback, on this loop.
    l->post([this, timer] {
      std::unique_ptr<core::Timer> gone;
      std::lock_guard<std::mutex> lk(mu_);
      if (auto it = timers_.find(timer); it != timers_.end()) {
        gone = std::move(it->second);
        timers_.erase(it);
      }
    });
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (a->phase != AssetRecording::Phase::kWaiting || a->wait_generation != gen) return;
      a->phase = AssetRecording::Phase::kFinalizing;
      ++finalizing_;
      active_.erase(key(a->app, a->stream));
      session_loops_.erase(a.get());
      metrics_.recordings_active.fetch_sub(1, std::memory_order_relaxed);
    }
    spdlog::info("record {}/{}: no publisher within resume_s: asset {} is finished", a->app, a->stream, a->id);
    finalize(a, *l);
  });
}

void RecordService::finalize(const std::shared_ptr<AssetRecording>& a, core::Loop& loop) {
  // The writer's last done may be on the stack: drop it after this task.
  loop.post([a] { a->writer.reset(); });
  store_.finalize(loop, a->id, [this, id = a->id](core::Result<Asset> r) {
    if (!r) spdlog::error("record: asset {}: {}", id, r.error());
    std::lock_guard<std::mutex> lk(mu_);
    --finalizing_;
  });
}

void RecordService::stop_all() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [k, a] : active_) ids.push_back(a->id);
  }
  for (const std::string& id : ids) (void)stop(id);
}

size_t RecordService::unfinished() {
  std::lock_guard<std::mutex> lk(mu_);
  return active_.size() + finalizing_;
}

void RecordService::asset_failed(const std::shared_ptr<AssetRecording>& a, const std::string& why) {
  core::Loop* loop = core::Loop::current();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (a->phase == AssetRecording::Phase::kFailed) return;
    const bool listed = a->phase != AssetRecording::Phase::kFinalizing;
    a->phase = AssetRecording::Phase::kFailed;
    a->failure = why;
    if (listed) {
      auto it = active_.find(key(a->app, a->stream));
      if (it != active_.end() && it->second == a) active_.erase(it);
      session_loops_.erase(a.get());
      metrics_.recordings_active.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  store_.fail(loop ? *loop : origin_.loops().at(0), a->id, why);
}

void RecordService::note_gap(AssetRecording& a) {
  metrics_.gaps.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(mu_);
  ++a.gaps;
}

std::shared_ptr<AssetRecording> RecordService::continue_in_new_asset(const std::shared_ptr<AssetRecording>& old,
                                                                      core::Loop& loop) {
  std::shared_ptr<AssetRecording> next;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (old->phase != AssetRecording::Phase::kRecording) return nullptr;
    old->phase = AssetRecording::Phase::kFinalizing;
    ++finalizing_;
    next = new_asset(old->app, old->stream, old->config, old->api_started, loop);
    next->sessions = 1;
    active_[key(old->app, old->stream)] = next;
    session_loops_.erase(old.get());
    session_loops_[next.get()] = &loop;
  }
  spdlog::info("record {}/{}: asset {} reached max_asset_s; continuing in asset {}", old->app, old->stream, old->id,
               next->id);
  // The old writer still has the last segment's close queued: finalize after it.
  std::shared_ptr<AssetRecording> o = old;
  RecordService* self = this;
  core::Loop* l = &loop;
  old->writer->close_segment([self, o, l](bool) { self->finalize(o, *l); });
  return next;
}

RecordingInfo RecordService::info(const AssetRecording& a) const {
  RecordingInfo r;
  r.asset = a.id;
  r.app = a.app;
  r.stream = a.stream;
  r.state = phase_name(a.phase);
  r.started_at_ms = a.started_wall_ms;
  if (a.writer) {
    r.bytes = a.writer->bytes_written();
    r.fragments = a.writer->fragments_written();
  }
  r.segments = a.next_segment - 1;
  r.gaps = a.gaps;
  r.api_started = a.api_started;
  r.error = a.failure;
  return r;
}

std::vector<RecordingInfo> RecordService::list() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<RecordingInfo> out;
  for (const auto& [k, a] : active_) out.push_back(info(*a));
  return out;
}

std::optional<RecordingInfo> RecordService::for_stream(const std::string& app, const std::string& stream) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = active_.find(key(app, stream));
  if (it == active_.end()) return std::nullopt;
  return info(*it->second);
}

void RecordService::picture_taken(core::Loop& loop, const std::string& app, const std::string& stream,
                                  std::string path, int64_t at_ms, int width, int height, uint64_t bytes) {
  auto rec = for_stream(app, stream);
  if (!rec || rec->state != "recording") return;
  Thumbnail t;
  t.at_ms = at_ms;
  t.width = width;
  t.height = height;
  t.bytes = bytes;
  store_.add_thumbnail(loop, rec->asset, std::move(path), std::move(t), [id = rec->asset](core::Result<bool> r) {
    if (!r)
      spdlog::warn("record {}: thumbnail not kept: {}", id, r.error());
    else if (!*r)
      spdlog::debug("record {}: thumbnail not kept: the asset is gone", id);
  });
}

}  // namespace weir::record
