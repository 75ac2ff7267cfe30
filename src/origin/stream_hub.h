// StreamHub: one live stream (app/name). Receives the publisher's packets,
// gives them a continuous timeline across publisher reconnects, wraps them
// once as HubPackets, keeps the master ring (the source new loops are seeded
// from) and forwards each packet once to every loop that has viewers.
//
// Ownership: the Registry owns hubs (shared_ptr); a hub ends when its
// publisher is gone past the app's reconnect grace, and is then removed.
// Thread: all state is under mu_. publish()/flush()/end_publish() run on the
// publisher's loop (through HubPublisher, the only caller); attach()/detach()
// on a viewer's loop; end() on any thread. Lock order: Registry::mu_ ->
// StreamHub::mu_ -> OriginLoop inbox mutex. Observers (stream_observer.h) are
// told with no lock held.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/log_limiter.h"
#include "core/media_packet.h"
#include "origin/gop_ring.h"
#include "origin/metrics.h"
#include "origin/publisher.h"
#include "protocol/ts_muxer.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class LoopHub;
class Origin;

struct StreamStats {
  std::string app, name;
  bool live = false;  // a publisher is attached
  std::string publisher_peer, publisher_protocol;
  int64_t published_at_ms = 0;  // wall clock
  uint64_t packets = 0, bytes = 0, video_frames = 0, keyframes = 0, audio_frames = 0;
  int64_t last_dts = 0;
  size_t loops = 0;
  uint64_t ring_packets = 0, ring_bytes = 0;
  int64_t ring_ms = 0;
  uint32_t publishes = 0;  // publisher sessions so far (reconnects + 1)
};

class StreamHub : public std::enable_shared_from_this<StreamHub> {
 public:
  enum class State { kLive, kGrace, kEnded };

  // `app_config` lives in `generation` (the config generation the stream
  // started under, kept for the stream's life: a reload changes the settings
  // of streams published after it) or, without one, outlives the hub.
  StreamHub(Origin& origin, std::string app, std::string name, const core::AppConfig& app_config,
            std::shared_ptr<const core::Config> generation = nullptr);
  ~StreamHub();

  Origin& origin() const { return origin_; }
  const std::string& app() const { return app_; }
  const std::string& name() const { return name_; }
  const std::string& key() const { return key_; }
  const core::AppConfig& app_config() const { return app_config_; }
  // What keeps app_config() alive (null for a hub made without a generation):
  // whatever outlives the hub and keeps its settings holds this.
  const std::shared_ptr<const core::Config>& config_generation() const { return generation_config_; }
  AppCounters& app_counters() const { return app_counters_; }
  State state() const;
  StreamStats stats() const;
  // The current decoder configs, video and audio (null when none yet). Any thread.
  std::pair<PacketRef, PacketRef> configs() const;

  // Publisher side (HubPublisher) --------------------------------------------
  enum class Take { kRefused, kFirst, kResumed, kTakenOver };
  // Installs `p` as the publisher. kRefused (nothing changes) when another
  // publisher is live and the app does not allow takeover, or the hub ended.
  // On takeover the old publisher is kicked. A hub in grace resumes.
  Take take_publisher(PublisherRef p);
  // Publishes one packet from `p` (ignored if `p` is no longer the publisher).
  void publish(const PublisherRef& p, core::MediaPacket pkt);
  // Wakes the loops that received packets since the last flush.
  void flush();
  // The publisher is gone: keep viewers for the reconnect grace (a timer on
  // the publisher's loop, whatever thread calls), then end.
  void end_publish(const PublisherRef& p, const std::string& why);
  // Ends the hub now (shutdown, admin drop). Any thread.
  void end(const std::string& why);

  // Viewer side ---------------------------------------------------------------
  // The calling loop's LoopHub, seeded from the master ring; nullptr if the
  // hub has ended. Call only through OriginLoop (which caches it).
  std::shared_ptr<LoopHub> attach(core::Loop& loop);
  void detach(const std::shared_ptr<LoopHub>& lh);

  // MPEG-TS output (SRT play, HTTP .ts). The stream's packets get TS bytes
  // (HubPacket::ts) from one muxer while at least one TS user exists. The
  // first user also muxes the GOP cache from its latest keyframe, so TS
  // viewers start at once like the others. Any loop.
  void add_ts_user();
  void remove_ts_user();

 private:
  void grace_expired(uint64_t generation);
  void start_grace_timer(core::Loop& loop, uint64_t generation);
  void kick(const PublisherRef& pub, const std::string& why);
  void notify_config(const HubPacket& config);
  void end_locked(const std::string& why, std::vector<std::shared_ptr<LoopHub>>& to_end);

  Origin& origin_;
  const std::string app_, name_, key_;
  const std::shared_ptr<const core::Config> generation_config_;
  const core::AppConfig& app_config_;  // in generation_config_
  const uint32_t chunk_size_;          // rtmp.chunk_size at start (restart-only: viewers were told it)
  AppCounters& app_counters_;  // Origin's, outlives the hub

  mutable std::mutex mu_;
  State state_ = State::kLive;
  PublisherRef publisher_;
  uint64_t generation_ = 0;  // bumps on every publisher change
  GopRing master_;
  std::vector<std::shared_ptr<LoopHub>> loop_hubs_;
  uint64_t touched_loops_ = 0;  // bitmask of loops with unflushed inbox items

  // Timeline: out = in + offset_. Rebased on each new publisher and on a
  // backwards jump, so the timeline viewers see never goes back.
  bool rebase_ = true;
  bool mark_discontinuity_ = false;  // flag the next packet (a publisher changed)
  bool have_output_ = false;
  int64_t offset_ = 0;
  int64_t last_dts_ = 0;  // highest frame dts, any track
  // Highest frame dts per track (video, audio); INT64_MIN before its first
  // frame. A config is clamped to its own track's, not to last_dts_: the
  // tracks of a muxed or transcoded stream run up to a few hundred ms apart,
  // and an audio config at the video's time would be followed by audio
  // frames before it.
  int64_t last_track_dts_[2] = {INT64_MIN, INT64_MIN};
  core::LogLimiter jump_log_;  // "timestamp went back" lines

  StreamStats stats_;

  void mux_ts_locked(const HubPacket& hp);
  std::unique_ptr<protocol::TsMuxer> ts_mux_;
  int ts_users_ = 0;
  bool ts_failed_logged_ = false;
};

}  // namespace weir::origin
