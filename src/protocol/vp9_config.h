// VP9 in FLV and ISOBMFF: the VPCodecConfigurationRecord ("VP Codec ISO Media
// File Format Binding" v1.0, 2.2; what E-RTMP's vp09 SequenceStart carries) and
// the uncompressed header of a VP9 frame (VP9 bitstream spec 6.2), which is
// where the frame size lives: the record has none.
//
// Pure functions, any thread. Parsers check every length against the input.
#pragma once

#include <cstdint>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

// vpcC chromaSubsampling values.
inline constexpr uint8_t kVp9Chroma420Vertical = 0;
inline constexpr uint8_t kVp9Chroma420Colocated = 1;
inline constexpr uint8_t kVp9Chroma422 = 2;
inline constexpr uint8_t kVp9Chroma444 = 3;

struct Vp9Config {
  uint8_t profile = 0;  // 0..3
  uint8_t level = 0;    // 10 * level (e.g. 31 = level 3.1); 0 = not known
  uint8_t bit_depth = 8;
  uint8_t chroma_subsampling = kVp9Chroma420Vertical;
  bool full_range = false;
  // ISO/IEC 23091-4 code points; 2 = unspecified.
  uint8_t colour_primaries = 2;
  uint8_t transfer_characteristics = 2;
  uint8_t matrix_coefficients = 2;
};

// Accepts the record as FFmpeg writes it into FLV and into a vpcC box (a
// FullBox header, version 1, flags 0, then the fields: 12 bytes) and the bare
// 8-byte record. Refuses version 0 records and codec initialization data
// (VP9 defines none).
core::Result<Vp9Config> parse_vp9_codec_config(core::ByteView record);
// The 12-byte form (FullBox version 1, flags 0, fields, no init data).
core::Slice build_vp9_codec_config(const Vp9Config& config);

struct Vp9FrameHeader {
  uint8_t profile = 0;
  bool show_existing_frame = false;  // then nothing below is set
  bool keyframe = false;
  bool show_frame = false;
  // Key frames only:
  uint8_t bit_depth = 8;
  uint8_t color_space = 0;  // VP9 CS_*; 7 = RGB
  bool full_range = false;
  bool subsampling_x = true;
  bool subsampling_y = true;
  uint32_t width = 0;
  uint32_t height = 0;
};

// Parses the uncompressed header of the first frame in `frame`; for a
// superframe (Annex B of the bitstream spec) the first key frame inside it if
// there is one.
core::Result<Vp9FrameHeader> parse_vp9_frame_header(core::ByteView frame);

// The record for a key frame: profile, bit depth, subsampling, range and, from
// the color space, the matrix coefficients. Level 0 (not known).
Vp9Config vp9_config_from_keyframe(const Vp9FrameHeader& key);

}  // namespace weir::protocol
