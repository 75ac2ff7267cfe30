// HlsPackager: makes a stream's HLS segments, once per stream (not per
// viewer). A lossless Consumer of the stream on one loop (never skipped or
// closed for lag, whatever the bit rate): it starts at the oldest keyframe of
// the GOP cache, so the first playlist is ready at once with the cached
// seconds in it; if the ring evicts what it has not packaged yet (a loop too
// busy to keep up), the segment in progress ends there and the next one
// starts after an EXT-X-DISCONTINUITY. It cuts
// segments at the first keyframe past hls.segment_ms (audio-only streams: at
// any frame), muxes each into MPEG-TS and into fMP4 parts of about
// hls.part_ms, and publishes them to the StreamHls store.
//
// Discontinuities (EXT-X-DISCONTINUITY) at a publisher change and at a codec
// config change; then a new init segment for fMP4 and new PAT/PMT for TS.
// Program date-time is anchored on the arrival wall clock of the packet that
// starts the timeline (and re-anchored at each discontinuity).
//
// Thread: its loop. Ownership: self-owned; it deletes itself after stop() or
// when the stream ends, having told its `on_done`.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/timer.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"
#include "origin/hls/stream_hls.h"
#include "protocol/fmp4_muxer.h"
#include "protocol/ts_muxer.h"

namespace weir::origin {
class Origin;
class LoopHub;
class StreamHub;
}  // namespace weir::origin

namespace weir::origin::hls {

class TimeshiftDisk;

// Tracked by its loop (core::Closable): a packager still running when the
// loop shuts down is stopped and freed there, whatever order the stream's end
// notice and the loop's stop come in.
class HlsPackager final : public Consumer, public core::Closable {
 public:
  // `on_done` runs once when the packager stops (idle, stream end, stop()).
  static HlsPackager* start(Origin& origin, const std::shared_ptr<StreamHub>& hub, std::shared_ptr<StreamHls> store,
                            std::function<void()> on_done);
  // Stops and frees the packager (loop thread).
  void stop(const std::string& why);

  void on_packets() override;
  void on_stream_end(const std::string& why) override;
  void close_for_shutdown() override { stop("server shutting down"); }

 private:
  HlsPackager(Origin& origin, std::shared_ptr<StreamHls> store, std::function<void()> on_done);
  ~HlsPackager() override;

  void process(const class HubPacket& hp);
  void on_gap(const ConsumerGap& gap);
  void on_config(const core::MediaPacket& m);
  void on_media(const core::MediaPacket& m);
  // True when `m` changed the fMP4 configuration (it is queued after the change).
  bool mux_fmp4(const core::MediaPacket& m);
  // Ends the open segment at `dts` and starts a new init (published with
  // its first part) after a discontinuity.
  void end_init(int64_t dts);
  void mux_ts(const core::MediaPacket& m);
  void begin_segment(const core::MediaPacket& m);
  void finish_segment(int64_t end_dts);
  // Where the media packaged so far ends: the last video frame plus the frame
  // interval (audio-only: the last audio frame plus its length).
  int64_t media_end_dts() const;
  void cut_part();
  void publish_init();
  core::Result<core::Slice> encrypt(uint64_t msn, const core::Slice& clear, uint64_t& key_id);
  void maintain();  // idle check, spill and delete jobs

  Origin& origin_;
  std::shared_ptr<StreamHls> store_;
  std::function<void()> on_done_;
  ConsumerHandle in_{*this};
  core::Loop* loop_ = nullptr;  // the loop that tracks it
  core::Timer timer_;
  std::shared_ptr<TimeshiftDisk> disk_;
  std::vector<PacketRef> batch_;

  protocol::TsMuxer ts_;
  protocol::Fmp4Muxer fmp4_;
  bool ts_ok_ = true, fmp4_ok_ = true;
  core::ByteWriter ts_buf_;
  core::Slice video_config_, audio_config_;
  core::Codec video_codec_ = core::Codec::kUnknown, audio_codec_ = core::Codec::kUnknown;
  bool has_video_ = false;

  bool seg_open_ = false;
  uint64_t next_msn_;
  int64_t seg_first_dts_ = 0;
  int64_t last_dts_ = 0;
  bool pending_discontinuity_ = false;
  uint64_t init_id_;  // see end_init
  bool init_published_ = false;
  core::Slice last_init_;    // the init segment last taken from fmp4_, and its CODECS
  std::string last_codecs_;
  uint32_t fragment_seq_ = 1;
  // Parts of the open segment (joined into its fMP4 bytes when it completes)
  // and the last one's duration: a segment ending in a sliver of a part
  // (part_ms not a whole number of frames, or not dividing the GOP) is logged
  // once per packager.
  std::vector<core::Slice> seg_parts_;
  double last_part_ms_ = 0;
  bool short_part_logged_ = false;
  double frame_ms_ = 40;  // mean video frame interval, for part cutting
  bool frame_ms_seen_ = false;
  int64_t last_video_dts_ = -1;
  double audio_frame_ms_ = 0;  // last audio frame interval (audio-only segment cuts)
  int64_t last_audio_dts_ = -1;

  bool anchored_ = false;
  int64_t anchor_wall_ = 0, anchor_dts_ = 0;

  uint64_t key_id_ = 0;
  std::array<uint8_t, 16> key_{};
  bool stopping_ = false;
};

}  // namespace weir::origin::hls
