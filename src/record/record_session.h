// RecordSession: records one live stream on one loop into an AssetRecording,
// for as long as that stream lives. A lossless consumer (origin/consumer.h):
// it is never skipped or closed for being behind; if the ring evicts what it
// had not read, the lost span is counted as a gap and recording goes on at
// the next keyframe (the gap shows as time in the asset).
//
// Cutting: the packets go through a protocol::Fmp4Muxer. A fragment is cut
// at every video keyframe and whenever fragment_ms of media is ready; a
// segment file at the first keyframe past segment_s (audio-only: past
// segment_s), and at a codec config change (the new init starts a new
// segment). max_asset_s closes the asset at a keyframe and continues in a
// new one.
//
// Timeline: asset time = hub dts + offset. A new asset starts at 0; a
// session that resumes an asset starts at the asset's end plus the wall-clock
// pause, so a player shows the pause and time never runs backwards.
//
// Thread: its loop only, for every method. Lifetime: heap object that
// deletes itself once it has ended (stream end, stop(), a write failure)
// and handed its asset back to the RecordService.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"
#include "protocol/fmp4_muxer.h"
#include "record/asset_recording.h"

namespace weir::origin {
class StreamHub;
}

namespace weir::record {

class RecordService;

class RecordSession final : public origin::Consumer {
 public:
  // Attaches to `hub` on the calling loop and starts recording into `asset`.
  // Null if the stream has already ended (the asset is handed back).
  static RecordSession* start(RecordService& service, const std::shared_ptr<origin::StreamHub>& hub,
                              std::shared_ptr<AssetRecording> asset);

  // Ends the session now (API stop, shutdown): what is buffered is written,
  // the segment closed, and the asset handed back with `resume` false.
  void stop(const std::string& why);

  const std::shared_ptr<AssetRecording>& asset() const { return asset_; }

  void on_packets() override;
  void on_stream_end(const std::string& why) override;

 private:
  RecordSession(RecordService& service, core::Loop& loop, std::shared_ptr<AssetRecording> asset);
  ~RecordSession() override;

  void process(const origin::HubPacket& hp);
  void add(const core::MediaPacket& m);
  void cut_fragment();
  // A segment is opened when its first sample is queued, but its file (and
  // the init segment in it) only when its first fragment is cut: a track
  // whose config comes in-band (MP3's first frame) may still join the init.
  void open_segment();
  bool open_segment_file();
  // Writes what the muxer holds, closes the segment; `then` runs once it is
  // on disk (on this loop).
  void close_segment(std::function<void(bool ok)> then);
  void end(const std::string& why, bool resume);
  void on_write_failed(const std::string& why);
  void switch_asset();

  RecordService& service_;
  core::Loop& loop_;
  std::shared_ptr<AssetRecording> asset_;
  origin::ConsumerHandle in_{*this};
  std::vector<origin::PacketRef> batch_;
  protocol::Fmp4Muxer mux_;
  bool mux_ok_ = true;
  bool has_video_ = false;
  bool offset_set_ = false;
  int64_t offset_ms_ = 0;        // asset time - hub time
  bool seg_open_ = false;
  bool seg_file_open_ = false;   // the open segment's file and init are written
  core::Slice last_init_;        // the init segment last taken from mux_
  int64_t seg_start_ms_ = 0;     // asset time of the open segment's first sample
  int64_t asset_start_ms_ = 0;   // asset time where this asset's media began (0)
  int64_t last_ms_ = -1;         // asset time of the last media packet added
  int64_t last_arrival_ms_ = 0;  // wall clock the newest packet recorded reached the hub
  uint32_t fragment_seq_ = 1;
  bool ended_ = false;
  friend class RecordService;
  friend struct AssetRecording;
};

}  // namespace weir::record
