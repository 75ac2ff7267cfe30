#include "core/clock.h"
#include "origin/hls/stream_hls.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "origin/hls/playlist.h"

namespace weir::origin::hls {

namespace {
// LL-HLS parts are kept for this many of the newest complete segments.
constexpr size_t kSegmentsWithParts = 4;
// fMP4 segments are kept this many past the live window (for players a little behind).
constexpr size_t kFmp4Slack = 2;

std::string etag_of(const std::string& body) {
  // FNV-1a: an ETag only has to change when the body does.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) h = (h ^ c) * 1099511628211ull;
  return fmt::format("\"{:016x}\"", h);
}
}  // namespace

StreamHls::StreamHls(std::string app, std::string name, const core::AppConfig& app_config,
                     std::shared_ptr<const core::Config> generation)
    : app_(std::move(app)),
      name_(std::move(name)),
      generation_(std::move(generation)),
      cfg_(app_config),
      // Media sequence numbers start at the current Unix second: a store
      // created later (the packager restarted, or the stream came back) then
      // always starts above every number an earlier store used, since segments
      // last at least a second.
      msn_base_(uint64_t(core::wall_clock_ms() / 1000)) {
  last_request_ms_ = core::wall_clock_ms();
}

StreamHls::~StreamHls() = default;

Segment* StreamHls::find_locked(uint64_t msn) {
  if (segments_.empty() || msn < segments_.front().msn || msn > segments_.back().msn) return nullptr;
  Segment& s = segments_[size_t(msn - segments_.front().msn)];
  return s.msn == msn ? &s : nullptr;
}
const Segment* StreamHls::find_locked(uint64_t msn) const { return const_cast<StreamHls*>(this)->find_locked(msn); }

void StreamHls::begin_segment(uint64_t msn, int64_t first_dts, int64_t pdt_ms, bool discontinuity, uint64_t init_id) {
  std::lock_guard<std::mutex> lk(mu_);
  Segment s;
  s.msn = msn;
  s.first_dts = first_dts;
  s.pdt_ms = pdt_ms;
  s.discontinuity = discontinuity && !segments_.empty();
  uint64_t prev = segments_.empty() ? 0 : segments_.back().discontinuity_seq;
  s.discontinuity_seq = prev + (s.discontinuity ? 1 : 0);
  s.init_id = init_id;
  segments_.push_back(std::move(s));
  open_ = true;
  invalidate_cache_locked();
}

void StreamHls::add_part(Part part) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!open_ || segments_.empty()) return;
  memory_bytes_ += part.data.size();
  segments_.back().parts.push_back(std::move(part));
  invalidate_cache_locked();
  wake_locked();
}

void StreamHls::complete_segment(double duration_ms, core::Slice ts, core::Slice fmp4, uint64_t key_id) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!open_ || segments_.empty()) return;
  Segment& s = segments_.back();
  s.duration_ms = duration_ms;
  s.ts_size = ts.size();
  memory_bytes_ += ts.size();
  s.ts = std::move(ts);
  s.key_id = key_id;
  memory_bytes_ += fmp4.size();
  s.fmp4 = std::move(fmp4);
  s.complete = true;
  open_ = false;
  // RFC 8216 4.3.3.1: each EXTINF rounded to the nearest integer must be
  // <= EXT-X-TARGETDURATION, which should not change; it starts at the
  // configured target and only grows if a longer segment (a long GOP) appears.
  int d = int(std::lround(duration_ms / 1000.0));
  target_duration_s_ = std::max({target_duration_s_, d, int((cfg_.hls.segment_ms + 999) / 1000)});
  retain_locked();
  invalidate_cache_locked();
  wake_locked();
}

void StreamHls::set_init(uint64_t init_id, core::Slice init, std::string codecs) {
  std::lock_guard<std::mutex> lk(mu_);
  inits_[init_id] = std::move(init);
  codecs_ = std::move(codecs);
  // Keep the inits still referenced plus the newest.
  uint64_t oldest = segments_.empty() ? init_id : segments_.front().init_id;
  for (auto it = inits_.begin(); it != inits_.end();) {
    if (it->first < oldest && it->first != init_id) it = inits_.erase(it);
    else ++it;
  }
}

void StreamHls::set_key(uint64_t key_id, std::array<uint8_t, 16> key) {
  std::lock_guard<std::mutex> lk(mu_);
  keys_[key_id] = key;
}

void StreamHls::set_ended() {
  std::lock_guard<std::mutex> lk(mu_);
  ended_ = true;
  invalidate_cache_locked();
  wake_locked();
}

// Retention. Newest first: the live window stays whole in memory; beyond it
// TS bytes stay while the memory budget allows (time-shift), then spill to
// disk (if a disk budget is set), then are evicted; fMP4 bytes and parts are
// kept only near the live edge.
void StreamHls::retain_locked() {
  const size_t window = size_t(cfg_.hls.window_segments);
  const bool ts_on = cfg_.timeshift.enabled;
  const int64_t now = core::wall_clock_ms();
  const int64_t oldest_wanted = ts_on ? now - cfg_.timeshift.window_ms : 0;
  uint64_t mem_ts = 0;
  size_t complete_seen = 0;
  for (size_t i = segments_.size(); i-- > 0;) {
    Segment& s = segments_[i];
    if (!s.complete) continue;
    ++complete_seen;
    if (complete_seen > kSegmentsWithParts && !s.parts.empty()) {
      for (auto& p : s.parts) memory_bytes_ -= std::min<uint64_t>(memory_bytes_, p.data.size());
      s.parts.clear();
      s.parts.shrink_to_fit();
    }
    if (complete_seen > window + kFmp4Slack && !s.fmp4.empty()) {
      memory_bytes_ -= std::min<uint64_t>(memory_bytes_, s.fmp4.size());
      s.fmp4 = core::Slice();
    }
    const bool in_window = complete_seen <= window;
    if (!s.ts.empty()) {
      if (in_window || (ts_on && s.pdt_ms >= oldest_wanted && mem_ts + s.ts_size <= cfg_.timeshift.memory_bytes)) {
        mem_ts += s.ts_size;
        if (complete_seen > window + kFmp4Slack && s.ts.buffer()->fd() >= 0) {
          // Past the live edge: time-shift viewers are few and descriptors are
          // not free, so the bytes move to the heap (readers keep the memfd).
          s.ts = core::Slice::copy_of(s.ts.view());
        }
      } else if (ts_on && cfg_.timeshift.disk_bytes > 0 && s.pdt_ms >= oldest_wanted) {
        // Left for take_spill_jobs(); it stays in memory until written.
      } else {
        memory_bytes_ -= std::min<uint64_t>(memory_bytes_, s.ts_size);
        s.ts = core::Slice();
      }
    }
    if (!s.ts_path.empty() && (s.pdt_ms < oldest_wanted || !ts_on)) {
      deletions_.push_back(std::move(s.ts_path));
      s.ts_path.clear();
      disk_bytes_ -= std::min<uint64_t>(disk_bytes_, s.ts_size);
    }
  }
  // Disk budget: delete the oldest files first.
  for (auto& s : segments_) {
    if (disk_bytes_ <= cfg_.timeshift.disk_bytes) break;
    if (!s.ts_path.empty()) {
      deletions_.push_back(std::move(s.ts_path));
      s.ts_path.clear();
      disk_bytes_ -= std::min<uint64_t>(disk_bytes_, s.ts_size);
    }
  }
  // Drop leading segments that have nothing left to serve.
  while (!segments_.empty() && segments_.front().complete && !segments_.front().ts_available() &&
         !segments_.front().ts_spilling && segments_.front().fmp4.empty() && segments_.size() > 1) {
    segments_.pop_front();
    ++evicted_;
  }
}

std::vector<StreamHls::SpillJob> StreamHls::take_spill_jobs() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<SpillJob> jobs;
  if (!cfg_.timeshift.enabled || cfg_.timeshift.disk_bytes == 0) return jobs;
  const size_t window = size_t(cfg_.hls.window_segments);
  uint64_t mem_ts = 0;
  size_t complete_seen = 0;
  for (size_t i = segments_.size(); i-- > 0;) {
    Segment& s = segments_[i];
    if (!s.complete || s.ts.empty()) continue;
    ++complete_seen;
    if (complete_seen <= window || mem_ts + s.ts_size <= cfg_.timeshift.memory_bytes) {
      mem_ts += s.ts_size;
      continue;
    }
    if (s.pdt_ms < core::wall_clock_ms() - cfg_.timeshift.window_ms) continue;  // too old: retain evicts it
    if (!s.ts_spilling && s.ts_path.empty()) {
      s.ts_spilling = true;
      jobs.push_back(SpillJob{s.msn, s.ts});
    }
  }
  return jobs;
}

void StreamHls::spilled(uint64_t msn, std::string path, bool ok) {
  std::lock_guard<std::mutex> lk(mu_);
  Segment* s = find_locked(msn);
  if (!s) {
    if (ok) deletions_.push_back(std::move(path));
    return;
  }
  s->ts_spilling = false;
  if (ok) {
    s->ts_path = std::move(path);
    disk_bytes_ += s->ts_size;
    memory_bytes_ -= std::min<uint64_t>(memory_bytes_, s->ts.size());
    s->ts = core::Slice();
  }
  retain_locked();
  invalidate_cache_locked();
}

std::vector<std::string> StreamHls::take_deletions() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::string> out;
  out.swap(deletions_);
  return out;
}

std::vector<std::string> StreamHls::take_all_paths() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::string> out;
  out.swap(deletions_);
  for (auto& s : segments_) {
    if (!s.ts_path.empty()) out.push_back(std::move(s.ts_path));
    s.ts_path.clear();
  }
  disk_bytes_ = 0;
  return out;
}

namespace {
struct Access {
  static PlaylistInput input(const std::deque<Segment>& segs, bool open, bool ended, int target,
                             const core::AppConfig& cfg, const std::string& name) {
    return PlaylistInput{segs, open, ended, target, cfg.hls, name};
  }
};
}  // namespace

StreamHls::RenderResult StreamHls::render_ts(const TsPlaylistRequest& req) {
  std::lock_guard<std::mutex> lk(mu_);
  Rendered r = render_ts_playlist(Access::input(segments_, open_, ended_, target_duration_s_, cfg_, name_), req);
  RenderResult out;
  out.status = r.status;
  (r.status == 200 ? out.body : out.error) = std::move(r.body);
  return out;
}

StreamHls::RenderResult StreamHls::render_ll(bool skip) {
  std::lock_guard<std::mutex> lk(mu_);
  Rendered r = render_ll_playlist(Access::input(segments_, open_, ended_, target_duration_s_, cfg_, name_), skip);
  RenderResult out;
  out.status = r.status;
  (r.status == 200 ? out.body : out.error) = std::move(r.body);
  return out;
}

bool StreamHls::cached_live_ts(core::Slice& out, std::string& etag) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!cache_valid_ts_) {
    TsPlaylistRequest req;
    Rendered r = render_ts_playlist(Access::input(segments_, open_, ended_, target_duration_s_, cfg_, name_), req);
    if (r.status != 200) return false;
    cached_ts_etag_ = etag_of(r.body);
    cached_ts_ = core::Slice::copy_of(core::as_bytes(r.body));
    cache_valid_ts_ = true;
  }
  out = cached_ts_;
  etag = cached_ts_etag_;
  return true;
}

bool StreamHls::cached_live_ll(core::Slice& out, std::string& etag) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!cache_valid_ll_) {
    Rendered r = render_ll_playlist(Access::input(segments_, open_, ended_, target_duration_s_, cfg_, name_), false);
    if (r.status != 200) return false;
    cached_ll_etag_ = etag_of(r.body);
    cached_ll_ = core::Slice::copy_of(core::as_bytes(r.body));
    cache_valid_ll_ = true;
  }
  out = cached_ll_;
  etag = cached_ll_etag_;
  return true;
}

void StreamHls::invalidate_cache_locked() { cache_valid_ts_ = cache_valid_ll_ = false; }

StreamHls::Lookup StreamHls::ts_segment(uint64_t msn, core::Slice& bytes, std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  const Segment* s = find_locked(msn);
  if (!s) return Lookup::kNotFound;
  if (!s->complete) return Lookup::kPending;
  if (!s->ts.empty()) {
    bytes = s->ts;
    return Lookup::kFound;
  }
  if (!s->ts_path.empty()) {
    path = s->ts_path;
    return Lookup::kOnDisk;
  }
  return Lookup::kNotFound;
}

bool StreamHls::segment_info(uint64_t msn, SegmentInfo& info) {
  std::lock_guard<std::mutex> lk(mu_);
  const Segment* s = find_locked(msn);
  if (!s) return false;
  info = SegmentInfo{s->pdt_ms, s->first_dts, s->duration_ms, s->key_id};
  return true;
}

StreamHls::Lookup StreamHls::fmp4_segment(uint64_t msn, core::Slice& bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  const Segment* s = find_locked(msn);
  if (!s) return Lookup::kNotFound;
  if (!s->complete) return Lookup::kPending;
  if (s->fmp4.empty()) return Lookup::kNotFound;
  bytes = s->fmp4;
  return Lookup::kFound;
}

StreamHls::Lookup StreamHls::part(uint64_t msn, uint32_t index, core::Slice& bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  const Segment* s = find_locked(msn);
  if (!s) return Lookup::kNotFound;
  if (index < s->parts.size()) {
    bytes = s->parts[index].data;
    return Lookup::kFound;
  }
  return s->complete ? Lookup::kNotFound : Lookup::kPending;
}

bool StreamHls::init(uint64_t id, core::Slice& bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = inits_.find(id);
  if (it == inits_.end()) return false;
  bytes = it->second;
  return true;
}

bool StreamHls::key(uint64_t id, std::array<uint8_t, 16>& key) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = keys_.find(id);
  if (it == keys_.end()) return false;
  key = it->second;
  return true;
}

std::optional<uint64_t> StreamHls::msn_at_or_before(int64_t wall_ms) {
  std::lock_guard<std::mutex> lk(mu_);
  std::optional<uint64_t> best;
  for (const Segment& s : segments_) {
    if (!s.complete || !s.ts_available()) continue;
    if (s.pdt_ms <= wall_ms) best = s.msn;
    else break;
  }
  return best;
}

std::pair<int64_t, int64_t> StreamHls::window_wall_ms() {
  std::lock_guard<std::mutex> lk(mu_);
  int64_t a = 0, b = 0;
  for (const Segment& s : segments_) {
    if (!s.complete || !s.ts_available()) continue;
    if (!a) a = s.pdt_ms;
    b = s.pdt_ms + int64_t(std::llround(s.duration_ms));
  }
  return {a, b};
}

bool StreamHls::satisfied(WaitTarget t) {
  std::lock_guard<std::mutex> lk(mu_);
  if (ended_) return true;
  const Segment* s = find_locked(t.msn);
  if (!s) return !segments_.empty() && t.msn < segments_.front().msn;
  if (s->complete) return true;
  return t.part >= 0 && uint64_t(t.part) < s->parts.size();
}

std::pair<uint64_t, uint32_t> StreamHls::live_edge() {
  std::lock_guard<std::mutex> lk(mu_);
  if (segments_.empty()) return {msn_base_, 0};
  const Segment& s = segments_.back();
  if (s.complete) return {s.msn + 1, 0};
  return {s.msn, uint32_t(s.parts.size())};
}

bool StreamHls::has_complete_segment() {
  std::lock_guard<std::mutex> lk(mu_);
  for (const Segment& s : segments_)
    if (s.complete) return true;
  return false;
}

bool StreamHls::ended() {
  std::lock_guard<std::mutex> lk(mu_);
  return ended_;
}

uint64_t StreamHls::wait(WaitTarget t, core::Loop& loop, std::function<void()> cb) {
  std::lock_guard<std::mutex> lk(mu_);
  if (waiters_.size() >= size_t(cfg_.hls.max_blocking_requests)) return 0;
  uint64_t id = next_wait_id_++;
  waiters_.push_back(Waiter{id, t, &loop, std::move(cb)});
  return id;
}

void StreamHls::cancel_wait(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  std::erase_if(waiters_, [id](const Waiter& w) { return w.id == id; });
}

// Posts every satisfied waiter's callback to its loop (no busy polling: held
// requests wake exactly when what they wait for is added).
void StreamHls::wake_locked() {
  if (waiters_.empty()) return;
  auto ready = [&](const Waiter& w) {
    if (ended_) return true;
    const Segment* s = find_locked(w.target.msn);
    if (!s) return !segments_.empty() && w.target.msn < segments_.front().msn;
    if (s->complete) return true;
    return w.target.part >= 0 && uint64_t(w.target.part) < s->parts.size();
  };
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (ready(*it)) {
      // A loop that refuses the task (stopping, or its queue full) leaves the
      // held request to its own timeout, which answers it.
      if (!it->loop->post(std::move(it->cb))) refused_wakeups_.fetch_add(1, std::memory_order_relaxed);
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

void StreamHls::touch() { last_request_ms_.store(core::wall_clock_ms(), std::memory_order_relaxed); }

StreamHlsStats StreamHls::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  StreamHlsStats st;
  for (const Segment& s : segments_) {
    if (!s.complete) continue;
    ++st.segments;
    if (!s.ts.empty()) ++st.segments_in_memory;
    if (!s.ts_path.empty()) ++st.segments_on_disk;
  }
  st.memory_bytes = memory_bytes_;
  st.disk_bytes = disk_bytes_;
  st.evicted = evicted_;
  st.waiters = waiters_.size();
  return st;
}

int StreamHls::target_duration_s() {
  std::lock_guard<std::mutex> lk(mu_);
  return target_duration_s_;
}

}  // namespace weir::origin::hls
