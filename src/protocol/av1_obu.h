// AV1 low-overhead bitstream OBUs (AV1 bitstream spec 5.3, 5.5): splitting a
// sample or config record into OBUs, the frame size from a sequence header,
// and the OBUs an ISOBMFF sample must not carry. Pure functions over borrowed
// bytes; every length is checked against the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/buffer.h"

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

// max_frame_width/height from a sequence_header_obu payload (AV1 spec 5.5.1).
bool parse_av1_sequence_header_size(core::ByteView obu_payload, uint32_t& width, uint32_t& height);

// AV1-ISOBMFF 2.4: samples should not carry temporal delimiters or padding.
// Returns the payload itself when there is nothing to strip or it does not
// parse as OBUs (then the decoder sees exactly what the publisher sent).
core::Slice strip_av1_obus(const core::Slice& payload);

}  // namespace weir::protocol
