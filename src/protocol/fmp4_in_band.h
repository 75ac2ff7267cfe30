// What the fMP4 muxer needs for the codecs whose sample entry is not (only)
// in a config packet, read from the media itself:
//   - VP9: the VPCodecConfigurationRecord (E-RTMP's SequenceStart, optional)
//     has no picture size, so the 'vp09' entry takes it from a key frame's
//     uncompressed header; without a record the whole 'vpcC' comes from there.
//   - MP3 (MPEG audio in FLV, SoundFormat 2/14): FLV carries no config at
//     all; the 'mp4a' entry (esds objectTypeIndication 0x6B / 0x69, no
//     DecoderSpecificInfo, ISO/IEC 14496-1 Table 5) comes from the frame
//     headers.
//
// Pure functions, any thread. Every length is checked against the input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"
#include "protocol/mpeg_audio.h"
#include "protocol/vp9_config.h"

namespace weir::protocol {

// objectTypeIndication values (ISO/IEC 14496-1 Table 5, MP4RA).
inline constexpr uint8_t kOtiMpeg4Audio = 0x40;
inline constexpr uint8_t kOtiMpeg2Audio = 0x69;  // ISO/IEC 13818-3 (MPEG-2 LSF rates)
inline constexpr uint8_t kOtiMpeg1Audio = 0x6B;  // ISO/IEC 11172-3

struct Vp9SampleEntry {
  Vp9Config config;      // what vpcC says (level filled in from the size if the record had none)
  uint32_t width = 0;    // from the key frame
  uint32_t height = 0;
  core::Slice vpcc;      // vpcC box body (FullBox version 1 + fields), 12 bytes
  std::string codecs;    // RFC 6381 / VP9 codec string "vp09.PP.LL.DD"
  // vpcC body + width + height: equal keys mean the same sample entry.
  std::vector<uint8_t> key;
};

// `record` is the publisher's VPCodecConfigurationRecord (empty if it sent
// none); `keyframe` the payload of a packet whose first (or, in a
// superframe, some) frame is a key frame. Fails if the record does not parse,
// the header does not parse, or the frame is not a key frame.
core::Result<Vp9SampleEntry> vp9_sample_entry(core::ByteView record, core::ByteView keyframe);

// The lowest VP9 level (10 * level) whose maximum picture size holds
// width x height (VP9 levels table, "VP9 Levels and Decoder Testing").
uint8_t vp9_level_for_size(uint32_t width, uint32_t height);

struct Mp3Packet {
  std::vector<core::ByteView> frames;  // the packet split at frame boundaries
  MpegAudioFrame first;                // the first frame's header
  uint16_t channels = 0;
  uint8_t object_type = 0;             // kOtiMpeg1Audio or kOtiMpeg2Audio
};

// Splits an FLV MP3 payload into whole MPEG audio frames. Fails if the
// payload is not one or more whole frames with one version, layer, sample
// rate and channel count (a frame cut short, garbage between frames, a
// parameter change inside one packet), or holds more than `max_frames`.
core::Result<Mp3Packet> split_mp3_packet(core::ByteView payload, size_t max_frames = 64);

// "mp4a.6B" / "mp4a.69" (RFC 6381 3.3: the objectTypeIndication in hex).
std::string mp3_codecs(uint8_t object_type);

}  // namespace weir::protocol
