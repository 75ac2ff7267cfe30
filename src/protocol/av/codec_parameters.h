// Codec identity and configuration between Weir and FFmpeg: core::Codec <->
// AVCodecID, a config MediaPacket -> AVCodecParameters (what a decoder or a
// libavformat muxer is opened with), and AVCodecParameters (a demuxer's
// stream, or an encoder opened with AV_CODEC_FLAG_GLOBAL_HEADER) -> a config
// MediaPacket with the FLV body Weir's outputs forward.
//
// FLV bodies are built with flv_tag.h: legacy AVC / AAC headers for H.264 and
// AAC, Enhanced RTMP (hvc1, av01, vp09, Opus) for the others. MP3 has no
// configuration record in FLV; where a config packet is asked for, MP3 passes
// an MP3 frame instead (its header gives rate and channels).
//
// Pure functions, any thread. Every input is validated; errors name the codec
// and what is wrong. Nothing here trusts a size read from the bytes.
#pragma once

extern "C" {
#include <libavcodec/codec_id.h>
#include <libavcodec/codec_par.h>
#include <libavutil/rational.h>
}

#include <cstdint>
#include <optional>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"

namespace weir::protocol::av {

// How H.264/HEVC access units (and their extradata) are laid out for FFmpeg:
// length-prefixed NAL units with an avcC/hvcC record (MP4, FLV, decoders given
// that record), or Annex B start codes with parameter sets in-band (MPEG-TS,
// decoders given no record). Other codecs have one form and ignore this.
enum class BitstreamForm : uint8_t { kLengthPrefixed, kAnnexB };

// H.264, HEVC, AV1, VP9, AAC, MP3, Opus. Anything else is an error naming it.
// MPEG-1/2 layer I/II map to kMP3 too (FLV's SoundFormat 2 is "MPEG audio").
core::Result<AVCodecID> to_av_codec_id(core::Codec codec);
core::Result<core::Codec> from_av_codec_id(AVCodecID id);

// Fills `par` (cleared first) from a config packet: codec type and id,
// extradata (the avcC/hvcC record for kLengthPrefixed, its parameter sets in
// Annex B for kAnnexB; av1C; AudioSpecificConfig; OpusHead; none for VP9 and
// MP3, whose decoders and muxers need none), width/height from the SPS or AV1
// sequence header, pixel format and colour from the record, sample rate and
// channels from the ASC / OpusHead / MP3 header, profile and level where the
// record says them. VP9's record holds no frame size: width/height stay 0
// until fill_size_from_keyframe.
core::Status codec_parameters_from_config(const core::MediaPacket& config, AVCodecParameters* par,
                                          BitstreamForm form = BitstreamForm::kLengthPrefixed);

// VP9 only (a no-op for other codecs): width/height from a key frame's header.
core::Status fill_size_from_keyframe(const core::MediaPacket& keyframe, AVCodecParameters* par);

// The config packet (dts = pts = dts_ms) for `par`. Records are canonical
// (see parameter_sets.h): H.264/HEVC extradata in Annex B or avcC/hvcC form
// give the same packet, always with 4-byte NAL lengths, so packets must be
// converted with AvToMedia. AV1 accepts an av1C or raw OBUs with a sequence
// header; VP9 builds its record from the pixel format and colour fields; Opus
// without extradata gets a mapping-family-0 OpusHead. Empty for MP3.
// Errors: unsupported codec, missing or malformed extradata.
core::Result<std::optional<core::MediaPacket>> config_from_codec_parameters(const AVCodecParameters& par,
                                                                            int64_t dts_ms = 0);

// The config packet for a record already in Weir's form (avcC, hvcC, av1C,
// vpcC, ASC, OpusHead), checked by make_media_packet.
core::Result<core::MediaPacket> make_config_packet(core::Codec codec, core::ByteView record, int64_t dts_ms);

// What an avcC (H.264) or hvcC (HEVC) record says, as the conversions use
// it: the NAL length size, the first SPS's picture, and on request the
// parameter sets in Annex B form (4-byte start codes).
struct NalRecord {
  uint8_t nal_length_size = 4;
  uint32_t width = 0;
  uint32_t height = 0;
  int profile = 0;
  int level = 0;
  int chroma_format = 1;  // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
  int bit_depth = 8;
  core::Slice annexb;     // empty unless asked for
};
core::Result<NalRecord> parse_nal_record(core::Codec codec, core::ByteView record, bool with_annexb);

// Timestamp conversion, rounding to the nearest tick with halves away from
// zero (av_rescale_q_rnd AV_ROUND_NEAR_INF). AV_NOPTS_VALUE stays as is.
int64_t to_ms(int64_t ts, AVRational time_base);
int64_t from_ms(int64_t ms, AVRational time_base);

}  // namespace weir::protocol::av
