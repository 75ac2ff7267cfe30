// FLV container bytes: file header, tag headers, PreviousTagSize fields.
// Stateless helpers, callable from any thread. Used by the HTTP-FLV/WS-FLV
// outputs (one serialized tag shared by every viewer), the recorder and tools.
//
// Layout (Adobe FLV spec v10.1 annex E.2-E.3):
//   header   "FLV" UI8 version=1, UI8 flags (4 = audio, 1 = video), UI32 DataOffset=9
//   body     UI32 PreviousTagSize0 = 0, then per tag:
//            UI8 TagType, UI24 DataSize, UI24 Timestamp, UI8 TimestampExtended,
//            UI24 StreamID = 0, DataSize bytes, UI32 PreviousTagSize = 11 + DataSize
#pragma once

#include <cstdint>

#include "core/buffer.h"

namespace weir::protocol {

inline constexpr size_t kFlvHeaderSize = 9;
inline constexpr size_t kFlvTagHeaderSize = 11;
inline constexpr size_t kFlvPrevTagSizeSize = 4;
inline constexpr uint32_t kFlvMaxDataSize = 0xFFFFFF;  // UI24 DataSize

// Appends the 9-byte header and PreviousTagSize0 (13 bytes in all).
void write_flv_header(core::ByteWriter& out, bool has_audio, bool has_video);

// Fills an 11-byte tag header. data_size must be <= kFlvMaxDataSize (larger
// values are truncated to 24 bits by the format; callers check first). ts32
// goes out as the low 24 bits plus the TimestampExtended byte (bits 24-31).
void write_tag_header(uint8_t out[kFlvTagHeaderSize], uint8_t type, uint32_t data_size,
                      uint32_t ts32);
void write_prev_tag_size(uint8_t out[kFlvPrevTagSizeSize], uint32_t size);

// Appends header + body + PreviousTagSize. ts_ms wraps modulo 2^32 as the
// 32-bit FLV timestamp does. body.size() must be <= kFlvMaxDataSize.
void write_tag(core::ByteWriter& out, uint8_t type, int64_t ts_ms, core::ByteView body);

}  // namespace weir::protocol
