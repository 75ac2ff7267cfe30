// StreamHls: the HLS state of one stream, shared by its packager (the writer,
// on one loop) and the HTTP handlers of every loop (readers).
//
// Thread: everything under mu_. Readers copy out what they need (Slices are
// refcounted, so a segment's bytes stay valid after eviction for whoever
// holds them). Waiters are called back on their own loop, by posting.
// Lifetime: shared_ptr held by the HlsService entry, the packager, and any
// request in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/loop.h"
#include "origin/hls/segment.h"

namespace weir::origin::hls {

// What a held request waits for. part < 0: segment `msn` complete.
struct WaitTarget {
  uint64_t msn = 0;
  int64_t part = -1;
};

struct StreamHlsStats {
  uint64_t segments = 0, segments_in_memory = 0, segments_on_disk = 0;
  uint64_t memory_bytes = 0, disk_bytes = 0, evicted = 0;
  uint64_t waiters = 0;
  int64_t window_start_ms = 0, window_end_ms = 0;  // time-shift window (wall clock)
};

class StreamHls {
 public:
  // `app_config` lives in `generation` (StreamHub::config_generation()) or,
  // without one, outlives the store.
  StreamHls(std::string app, std::string name, const core::AppConfig& app_config,
            std::shared_ptr<const core::Config> generation = nullptr);
  ~StreamHls();

  const std::string& app() const { return app_; }
  const std::string& name() const { return name_; }
  const core::AppConfig& config() const { return cfg_; }
  uint64_t msn_base() const { return msn_base_; }

  // --- packager side (one loop) ------------------------------------------
  // Starts segment `msn` (the previous one must be complete).
  void begin_segment(uint64_t msn, int64_t first_dts, int64_t pdt_ms, bool discontinuity, uint64_t init_id);
  void add_part(Part part);
  // Completes the open segment: its duration, its TS bytes and its fMP4
  // bytes (its parts joined; empty without fMP4). Both are built by the
  // packager outside the store's lock.
  void complete_segment(double duration_ms, core::Slice ts, core::Slice fmp4, uint64_t key_id);
  void set_init(uint64_t init_id, core::Slice init, std::string codecs);
  void set_key(uint64_t key_id, std::array<uint8_t, 16> key);
  void set_ended();
  // Spill/evict bookkeeping, see TimeshiftDisk.
  struct SpillJob {
    uint64_t msn;
    core::Slice bytes;
  };
  // Segments to move to disk now (beyond the memory budget, outside the live
  // window); marks them spilling.
  std::vector<SpillJob> take_spill_jobs();
  void spilled(uint64_t msn, std::string path, bool ok);
  // Files to delete (evicted past the disk budget or the window).
  std::vector<std::string> take_deletions();
  // Every file still referenced or pending deletion (the stream is going away).
  std::vector<std::string> take_all_paths();

  // --- readers (any loop) ------------------------------------------------
  // Renders a playlist into `out`. Returns false with a status/reason when it
  // cannot be served (see playlist.h for the kinds and the error codes).
  struct RenderResult {
    int status = 200;
    std::string body;
    std::string error;  // for non-200
  };
  RenderResult render_ts(const struct TsPlaylistRequest& req);
  RenderResult render_ll(bool skip);
  // Cached default live playlists, re-rendered when the store changes.
  bool cached_live_ts(core::Slice& out, std::string& etag);
  bool cached_live_ll(core::Slice& out, std::string& etag);

  enum class Lookup { kFound, kOnDisk, kPending, kNotFound };
  Lookup ts_segment(uint64_t msn, core::Slice& bytes, std::string& path);
  // Segment metadata for readers that replay segments (time-shifted FLV).
  struct SegmentInfo {
    int64_t pdt_ms = 0;
    int64_t first_dts = 0;
    double duration_ms = 0;
    uint64_t key_id = 0;
  };
  bool segment_info(uint64_t msn, SegmentInfo& info);
  Lookup fmp4_segment(uint64_t msn, core::Slice& bytes);
  Lookup part(uint64_t msn, uint32_t index, core::Slice& bytes);
  bool init(uint64_t id, core::Slice& bytes);
  bool key(uint64_t id, std::array<uint8_t, 16>& key);
  // Wall-clock position lookups for time-shift (ms since epoch).
  std::optional<uint64_t> msn_at_or_before(int64_t wall_ms);
  std::pair<int64_t, int64_t> window_wall_ms();

  // Is `t` already satisfied? (LL-HLS blocking reload / preload hint.)
  bool satisfied(WaitTarget t);
  // The open segment's msn and its number of parts so far.
  std::pair<uint64_t, uint32_t> live_edge();
  bool has_complete_segment();
  bool ended();

  // Registers `cb` to run on `loop` once `t` is satisfied (or the stream
  // ends). Returns 0 if refused (cap reached), else an id for cancel_wait.
  uint64_t wait(WaitTarget t, core::Loop& loop, std::function<void()> cb);
  void cancel_wait(uint64_t id);

  // Last request time, for idle stop (any thread, no lock).
  void touch();
  int64_t last_request_ms() const { return last_request_ms_.load(std::memory_order_relaxed); }

  StreamHlsStats stats();
  // Target duration in whole seconds (constant once segments exist).
  int target_duration_s();

 private:
  friend class PlaylistAccess;
  void wake_locked();
  void retain_locked();
  void invalidate_cache_locked();
  const Segment* find_locked(uint64_t msn) const;
  Segment* find_locked(uint64_t msn);

  const std::string app_, name_;
  const std::shared_ptr<const core::Config> generation_;
  const core::AppConfig& cfg_;  // in generation_
  const uint64_t msn_base_;

  std::mutex mu_;
  std::deque<Segment> segments_;  // ascending msn; back() may be open
  bool open_ = false;             // back() is still being built
  std::map<uint64_t, core::Slice> inits_;
  std::string codecs_;
  std::map<uint64_t, std::array<uint8_t, 16>> keys_;
  bool ended_ = false;
  int target_duration_s_ = 0;
  uint64_t memory_bytes_ = 0, disk_bytes_ = 0, evicted_ = 0;
  std::vector<std::string> deletions_;

  struct Waiter {
    uint64_t id;
    WaitTarget target;
    core::Loop* loop;
    std::function<void()> cb;
  };
  std::vector<Waiter> waiters_;
  uint64_t next_wait_id_ = 1;

  core::Slice cached_ts_, cached_ll_;
  std::string cached_ts_etag_, cached_ll_etag_;
  bool cache_valid_ts_ = false, cache_valid_ll_ = false;

  std::atomic<int64_t> last_request_ms_{0};
  std::atomic<uint64_t> refused_wakeups_{0};  // waiter callbacks a loop refused (they time out instead)
};

}  // namespace weir::origin::hls
