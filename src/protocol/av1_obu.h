// AV1 low-overhead bitstream OBUs (AV1 bitstream spec 5.3, 5.5): splitting a
// sample or config record into OBUs, the frame size from a sequence header,
// and the OBUs an ISOBMFF sample must not carry. Pure functions over borrowed
// bytes; every length is checked against the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

constexpr uint8_t kObuSequenceHeader = 1;
constexpr uint8_t kObuTemporalDelimiter = 2;
constexpr uint8_t kObuPadding = 15;

struct Obu {
  uint8_t type = 0;
  size_t offset = 0;      // of the OBU header inside the buffer
  size_t size = 0;        // whole OBU, header included
  core::ByteView payload; // after header and size field
};

// Appends the OBUs of `data` to `out`. An OBU without obu_has_size_field runs
// to the end of the buffer (allowed for the last OBU of an MP4 sample).
// False when an OBU is malformed or overruns the buffer.
bool split_obus(core::ByteView data, std::vector<Obu>& out);

// What a sequence header OBU (AV1 spec 5.5) says about the stream: the
// fields an av1C record and a decoder's parameters need.
struct Av1SequenceHeader {
  uint8_t seq_profile = 0;
  bool still_picture = false;
  bool reduced_still_picture_header = false;
  uint8_t seq_level_idx_0 = 0;  // of operating point 0
  bool seq_tier_0 = false;
  uint32_t max_width = 0;       // max_frame_width_minus_1 + 1
  uint32_t max_height = 0;
  uint8_t bit_depth = 8;        // 8, 10 or 12
  bool mono_chrome = false;
  bool subsampling_x = true;
  bool subsampling_y = true;
  uint8_t chroma_sample_position = 0;
  // ISO/IEC 23091-4 code points; 2 = unspecified when the header has none.
  uint8_t color_primaries = 2;
  uint8_t transfer_characteristics = 2;
  uint8_t matrix_coefficients = 2;
  bool full_range = false;      // color_range
};

// Parses a sequence_header_obu payload (after the OBU header and size), as far
// as color_config (5.5.2). False when it is truncated or malformed.
bool parse_av1_sequence_header(core::ByteView obu_payload, Av1SequenceHeader& out);
// max_frame_width/height from a sequence_header_obu payload (AV1 spec 5.5.1).
bool parse_av1_sequence_header_size(core::ByteView obu_payload, uint32_t& width, uint32_t& height);

// An av1C record (AV1-ISOBMFF 2.3) from OBUs that contain a sequence header
// (an encoder's extradata, or a key frame's temporal unit). configOBUs holds
// that sequence header OBU, rewritten with a size field if it had none.
core::Result<core::Slice> build_av1_codec_config(core::ByteView obus);

// AV1-ISOBMFF 2.4: samples should not carry temporal delimiters or padding.
// Returns the payload itself when there is nothing to strip or it does not
// parse as OBUs (then the decoder sees exactly what the publisher sent).
core::Slice strip_av1_obus(const core::Slice& payload);
// The same rule for bytes on their way into a new buffer: appends the OBUs of
// `data` except temporal delimiters and padding. False (nothing appended)
// when `data` does not parse as OBUs.
bool append_av1_sample_obus(core::ByteView data, core::ByteWriter& out);

}  // namespace weir::protocol
