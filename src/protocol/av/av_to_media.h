// AvToMedia: FFmpeg packets (an encoder's or a demuxer's output) -> Weir
// MediaPackets with FLV bodies, for one stream.
//
// Input forms accepted: H.264/HEVC in Annex B (libx264/libx265 output, MPEG-TS
// demuxers; the stream's extradata is Annex B or absent) or length-prefixed
// (MP4/FLV demuxers; the extradata is an avcC/hvcC, whose NAL length size is
// used); AV1 OBUs (temporal delimiters and padding are dropped, AV1-ISOBMFF
// 2.4); VP9 frames or superframes; AAC raw or with an ADTS header (stripped);
// Opus packets; MPEG audio frames.
//
// Output: one frame per AVPacket; NAL units always with 4-byte lengths
// (matching the canonical config record, see codec_parameters.h).
// Timestamps: dts and pts are each rescaled to ms, rounded to the nearest ms
// with halves away from zero, so each is within 0.5 ms of the input; the FLV
// composition time is pts_ms - dts_ms (H.264/HEVC only: FLV has no field for
// it with AV1/VP9, whose packets keep pts = dts). A packet without dts uses
// its pts and vice versa.
//
// Config: the stream's config packet goes out before its first frame; a new
// one before the frame that changes it (in-band SPS/PPS/VPS that differ, an
// ADTS header with other parameters, a key frame's AV1 sequence header). When
// the parameters carry no config (no extradata), it is learned from the first
// key frame (or ADTS header) that has it. Overflow action for frames that come
// before any config: dropped, counted in stats().dropped_before_config.
//
// Thread: one object per stream, used by one thread at a time (a WorkerPool
// strand). Bounds: a packet's size is FFmpeg's int; every NAL/OBU/ADTS length
// inside it is checked before use.
#pragma once

extern "C" {
#include <libavcodec/packet.h>
}

#include <optional>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/codec_parameters.h"

namespace weir::protocol::av {

class AvToMedia {
 public:
  struct Stats {
    uint64_t frames = 0;                 // MediaPackets made from frames
    uint64_t configs = 0;                // config packets emitted
    uint64_t dropped_before_config = 0;  // frames that came before any config
  };

  // `par`: the stream's parameters; `time_base`: its packets' time base.
  // Fails for an unsupported codec, a bad time base, or extradata that is
  // present but malformed (the message names what is wrong).
  static core::Result<AvToMedia> create(const AVCodecParameters& par, AVRational time_base);

  // Appends what `pkt` becomes to `out` (a config packet first if due, then
  // the frame). On error nothing is appended and the stream state is kept.
  core::Status convert(const AVPacket& pkt, std::vector<core::MediaPacket>& out);

  // The current config packet; nullptr until known (always for MP3).
  const core::MediaPacket* config() const { return config_ ? &*config_ : nullptr; }
  core::Codec codec() const { return codec_; }
  const Stats& stats() const { return stats_; }

 private:
  AvToMedia() = default;
  // Each writes the frame's FLV body into `w` and sets `record` when the
  // packet carries a config record that differs from the current one.
  core::Status h26x_body(core::ByteView data, bool key, int flags, int32_t cts, core::ByteWriter& w,
                         std::optional<core::Slice>& record) const;
  core::Status av1_body(core::ByteView data, bool key, core::ByteWriter& w, std::optional<core::Slice>& record) const;
  core::Status vp9_body(core::ByteView data, bool key, core::ByteWriter& w, std::optional<core::Slice>& record) const;
  core::Status aac_body(core::ByteView data, core::ByteWriter& w, std::optional<core::Slice>& record) const;
  bool differs(core::ByteView record) const;
  void commit_config(core::MediaPacket config);

  core::Codec codec_ = core::Codec::kUnknown;
  AVRational time_base_{1, 1000};
  bool annexb_ = true;           // H.264/HEVC input form
  uint8_t nal_length_size_ = 4;  // of length-prefixed input
  std::optional<core::MediaPacket> config_;
  bool config_pending_ = false;  // config_ not yet emitted
  bool aac_stereo_ = true;       // FLV's channel bit for AAC, from the ASC
  Stats stats_;
};

}  // namespace weir::protocol::av
