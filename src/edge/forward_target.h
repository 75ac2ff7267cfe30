// ForwardTarget: pushes one live stream to one destination over RTMP
// (client/rtmp_client.h in publish mode, rtmp:// or rtmps://) or SRT
// (ingest/srt/srt_caller.h, srt://: the stream's MPEG-TS as SRT viewers get
// it, HubPacket::ts() muxed once per stream, in 1316-byte messages), for as
// long as the stream lives or until removed. The destination is one of a
// route's candidates: a forward has one; an edge's publish to its origins
// (apps.<app>.upstream.publish: forward) has the app's rtmp:// and rtmps://
// upstream templates (never srt://: a route's candidates share one transport),
// tried in the order of the app's policy with origins recently down last
// (edge/upstream_url.h, OriginHealth), and fails over to the next one.
//
// Reading: a lossless consumer (origin/consumer.h) of the stream on its loop,
// attached from start to end, so it learns the stream's end and its cursor
// never holds the ring back: what arrives while the destination is not
// accepting is read and dropped. Each time a destination accepts the publish
// the handle is re-attached at the newest keyframe: the destination gets the
// codec configs and onMetaData in effect first, then media from a keyframe.
//
// Overflow (a destination slower than the stream): RtmpClient::send (or
// SrtCaller::send) refuses a packet once forward.max_queued_bytes wait unsent;
// the target then drops every media packet up to the next video keyframe
// (audio-only: the next accepted audio frame), counted in dropped_frames, and
// re-sends the codec configs before it (SRT: the TS of a keyframe carries
// PAT/PMT and the parameter sets). Memory per target is bounded by that cap.
//
// Failure: connect/response/stall timeouts, refusals (a Weir destination
// refuses a publish that would close a forward loop: edge/loop_check.h), a
// lost connection: the entry goes to backoff with last_error. The next
// candidate of the round is tried at once; once every candidate failed, a new
// round starts after backoff_ms, doubling per failed round up to
// backoff_max_ms. A connection that forwarded for kStableMs or more resets the
// doubling, and its loss starts a new round at once (a forward with one
// destination reconnects at once, then backs off). Timestamps sent never go
// back, per track, across reconnects and failovers: each connection's first
// packet is mapped at or after the last one sent before (RTMP; SRT sends the
// hub's TS timeline as it is).
//
// Thread: its loop only, every method. Lifetime: heap object, self-owned;
// stop() or the stream's end tells the service and frees it from a posted
// task (never inside its own client's or handle's callbacks).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/rtmp_client.h"
#include "core/config.h"
#include "core/timer.h"
#include "edge/origin_health.h"
#include "edge/upstream_url.h"
#include "ingest/srt/srt_caller.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"

namespace weir::edge {

class ForwardService;
struct ForwardEntry;

// One place a target may push to.
struct ForwardDestination {
  std::string url;     // as connected to (with the via chain): holds the key, never logged
  std::string shown;   // redact_forward_url of it, without the chain: for logs and the API
  std::string origin;  // route with health: the upstream template (OriginHealth key)
};

// Where a target pushes and how.
struct ForwardRoute {
  std::vector<ForwardDestination> candidates;  // at least one
  OriginHealth* health = nullptr;  // set: candidates are origins (ordering, failures, pushes gauge)
  UpstreamPolicy policy = UpstreamPolicy::kInOrder;
  uint64_t ticket = 0;             // round robin's turn
  uint64_t stall_timeout_ms = 10000;  // the destination took no byte while bytes waited
};

class ForwardTarget final : public origin::Consumer, client::RtmpClient::Handler, ingest::srt::SrtCaller::Handler {
 public:
  // Attaches to `hub` on `loop` (the calling loop) and connects. Null if the
  // stream has already ended (the service is told).
  static ForwardTarget* start(ForwardService& service, core::Loop& loop, const std::shared_ptr<origin::StreamHub>& hub,
                              std::shared_ptr<ForwardEntry> entry, ForwardRoute route, const core::ForwardConfig& cfg);
  static constexpr int64_t kStableMs = 2000;
  // Ends the target now (admin API removal, shutdown). Idempotent.
  void stop(const std::string& why);

  // Consumer
  void on_packets() override;
  void on_stream_end(const std::string& why) override;

 private:
  ForwardTarget(ForwardService& service, core::Loop& loop, std::shared_ptr<origin::StreamHub> hub,
                std::shared_ptr<ForwardEntry> entry, ForwardRoute route, const core::ForwardConfig& cfg);
  ~ForwardTarget() override;

  // RtmpClient::Handler
  void on_ready() override;
  void on_closed(const core::Status& why) override;
  // SrtCaller::Handler
  void on_srt_connected() override { on_ready(); }
  void on_srt_data(core::ByteView) override {}
  void on_srt_closed(const std::string& why) override { failed(why); }

  void new_round();
  void connect();
  // SRT: the packet's TS bytes, dropping up to a sync point after a refusal.
  void forward_ts(const origin::PacketRef& p);
  uint64_t bytes_now() const;
  void failed(std::string why);
  const ForwardDestination& current() const { return route_.candidates[order_[attempt_]]; }
  void forward(const core::MediaPacket& m);
  // False if the client refused it (queue full) or is gone.
  bool send(const core::MediaPacket& m);
  void send_configs();
  void note_bytes();

  ForwardService& service_;
  core::Loop& loop_;
  std::shared_ptr<origin::StreamHub> hub_;  // for re-attaching; released at the end
  std::shared_ptr<ForwardEntry> entry_;
  const ForwardRoute route_;
  const core::ForwardConfig cfg_;
  // The round: candidates in the order tried, the one tried now.
  std::vector<size_t> order_;
  size_t attempt_ = 0;
  uint64_t rounds_ = 0;
  OriginHealth::Entry* origin_ = nullptr;  // route_.health's entry of current() (null without health)
  int64_t connected_at_ms_ = 0;            // monotonic, when current() accepted
  static constexpr size_t kNone = size_t(-1);
  size_t last_connected_ = kNone;          // candidate that accepted last (a change is a failover)
  origin::ConsumerHandle in_{*this};
  std::vector<origin::PacketRef> batch_;
  const bool srt_dest_;                     // srt:// (else RTMP)
  std::unique_ptr<client::RtmpClient> rtmp_;
  std::unique_ptr<ingest::srt::SrtCaller> srt_;
  core::Timer retry_;
  uint32_t failures_ = 0;       // failed rounds since a connection was last stable
  bool connected_ = false;      // the destination accepted the publish
  bool ended_ = false;
  // The configs in effect (as read), re-sent after a refusal.
  origin::PacketRef video_config_, audio_config_, metadata_;
  bool need_sync_ = false;      // dropping media up to the next sync point
  bool resend_configs_ = false; // send the configs before that sync point
  // Timeline towards the destination: out = hub + offset_, never below the
  // last sent of each track (video, audio, data).
  int64_t offset_ = 0;
  bool offset_set_ = false;
  std::array<int64_t, 3> last_out_{-1, -1, -1};
  uint64_t bytes_before_ = 0;   // bytes_out of earlier connections
};

}  // namespace weir::edge
