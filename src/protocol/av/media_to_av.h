// MediaToAv: Weir MediaPackets -> FFmpeg packets for a decoder or a
// libavformat muxer, for one stream.
//
// Bitstream: H.264/HEVC length-prefixed as carried (with the codec parameters
// from codec_parameters_from_config(..., kLengthPrefixed)), or Annex B with
// 4-byte start codes and the config's parameter sets put in front of every
// key frame that lacks them (for MPEG-TS, and for decoders given no record).
// Other codecs go out as carried.
//
// Buffers: with `padded` (the default; what decoders need, since FFmpeg's
// bitstream readers may read AV_INPUT_BUFFER_PADDING_SIZE bytes past the end)
// the payload is copied once into a buffer with zeroed padding. Without it
// (muxers), the AVPacket references the MediaPacket's own bytes: its
// AVBufferRef holds a reference on the Slice's Buffer (av_buffer_create,
// read-only), so nothing is copied unless the form must change (Annex B).
//
// Timestamps: ms -> the chosen time base, rounded to nearest, halves away
// from zero. Flags: key for key frames and for every audio frame (each is a
// sync sample), disposable where the packet says so. Audio packets get their
// duration (AAC 1024 samples, Opus from its TOC, MPEG audio from its header).
//
// Thread: one object per stream, one thread at a time. The AVPackets it fills
// are independent of it (refcounted) and may go to any thread.
#pragma once

extern "C" {
#include <libavcodec/packet.h>
}

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/codec_parameters.h"

namespace weir::protocol::av {

struct MediaToAvOptions {
  AVRational time_base{1, 1000};
  BitstreamForm form = BitstreamForm::kLengthPrefixed;
  bool padded = true;  // see the file comment: true for decoders, false lets muxers share the bytes
};

class MediaToAv {
 public:
  // `config`: the stream's config packet; for MP3 (no config in FLV) any MP3
  // packet. Fails for an unsupported codec, a malformed record, a bad time base.
  static core::Result<MediaToAv> create(const core::MediaPacket& config, const MediaToAvOptions& options);

  // A new config mid-stream (same codec).
  core::Status set_config(const core::MediaPacket& config);

  // Fills `out` (unreferenced first) from a frame packet. Config packets,
  // packets of another codec and packets without media (end of sequence,
  // command frames, E-RTMP metadata: see carries_media) are refused.
  core::Status convert(const core::MediaPacket& pkt, AVPacket* out) const;

  static bool carries_media(const core::MediaPacket& pkt) { return !pkt.is_config() && !pkt.payload().empty(); }
  core::Codec codec() const { return codec_; }

 private:
  MediaToAv() = default;
  core::Status annexb_payload(const core::MediaPacket& pkt, core::ByteWriter& w) const;
  int64_t audio_duration(core::ByteView payload) const;

  core::Codec codec_ = core::Codec::kUnknown;
  MediaToAvOptions options_;
  uint8_t nal_length_size_ = 4;
  core::Slice parameter_sets_;  // Annex B, for key frames without them
  uint32_t aac_rate_ = 0;       // AAC: core sampling rate (a raw frame is 1024 samples of it)
};

}  // namespace weir::protocol::av
