// ForwardTarget: pushes one live stream to one destination over RTMP
// (client/rtmp_client.h in publish mode, rtmp:// or rtmps://) or SRT
// (ingest/srt/srt_caller.h, srt://: the stream's MPEG-TS as SRT viewers get
// it, HubPacket::ts() muxed once per stream, in 1316-byte messages), for as
// long as the stream lives or until removed.
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
// Failure: connect/response/stall timeouts, refusals, a lost connection: the
// entry goes to backoff with last_error, and a new connection is tried after
// forward.backoff_ms, doubling per failure up to backoff_max_ms (reset once a
// destination accepts). Timestamps sent to the destination never go back,
// per track, across reconnects: each connection's first packet is mapped at
// or after the last one sent before (RTMP; SRT sends the hub's TS timeline).
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
#include "ingest/srt/srt_caller.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"

namespace weir::edge {

class ForwardService;
struct ForwardEntry;

class ForwardTarget final : public origin::Consumer, client::RtmpClient::Handler, ingest::srt::SrtCaller::Handler {
 public:
  // Attaches to `hub` on `loop` (the calling loop) and connects. Null if the
  // stream has already ended (the service is told).
  static ForwardTarget* start(ForwardService& service, core::Loop& loop, const std::shared_ptr<origin::StreamHub>& hub,
                              std::shared_ptr<ForwardEntry> entry, std::string url, const core::ForwardConfig& cfg);
  // Ends the target now (admin API removal, shutdown). Idempotent.
  void stop(const std::string& why);

  // Consumer
  void on_packets() override;
  void on_stream_end(const std::string& why) override;

 private:
  ForwardTarget(ForwardService& service, core::Loop& loop, std::shared_ptr<origin::StreamHub> hub,
                std::shared_ptr<ForwardEntry> entry, std::string url, const core::ForwardConfig& cfg);
  ~ForwardTarget() override;

  // RtmpClient::Handler
  void on_ready() override;
  void on_closed(const core::Status& why) override;
  // SrtCaller::Handler
  void on_srt_connected() override { on_ready(); }
  void on_srt_data(core::ByteView) override {}
  void on_srt_closed(const std::string& why) override { failed(why); }

  void connect();
  // SRT: the packet's TS bytes, dropping up to a sync point after a refusal.
  void forward_ts(const origin::PacketRef& p);
  uint64_t bytes_now() const;
  void failed(std::string why);
  void forward(const core::MediaPacket& m);
  // False if the client refused it (queue full) or is gone.
  bool send(const core::MediaPacket& m);
  void send_configs();
  void note_bytes();

  ForwardService& service_;
  core::Loop& loop_;
  std::shared_ptr<origin::StreamHub> hub_;  // for re-attaching; released at the end
  std::shared_ptr<ForwardEntry> entry_;
  const std::string url_;                   // holds the key: never logged (entry_->url_shown is)
  const core::ForwardConfig cfg_;
  origin::ConsumerHandle in_{*this};
  std::vector<origin::PacketRef> batch_;
  const bool srt_dest_;                     // srt:// (else RTMP)
  std::unique_ptr<client::RtmpClient> rtmp_;
  std::unique_ptr<ingest::srt::SrtCaller> srt_;
  core::Timer retry_;
  uint32_t failures_ = 0;       // since the destination last accepted
  bool connected_ = false;      // the destination accepted the publish
  bool attempted_ = false;      // a connection was tried before (the next is a reconnect)
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
