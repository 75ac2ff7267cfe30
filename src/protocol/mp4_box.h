// ISO BMFF (ISO/IEC 14496-12) box writing helpers: box headers with a
// back-patched 32-bit size, full-box headers (version + flags), FourCC
// constants. Stateless; callable from any thread on a writer the caller owns.
//
// Invariant: every begin_box()/begin_full_box() is closed by end_box() on the
// same writer, innermost first, before the bytes are finished. Boxes written
// here are smaller than 4 GiB (callers cap what they put in them); end_box()
// writes the low 32 bits otherwise, so the cap is the caller's job.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/buffer.h"

namespace weir::protocol {

// Box type from a 4-character literal: box_type("moov").
constexpr uint32_t box_type(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 |
         uint32_t(uint8_t(s[2])) << 8 | uint32_t(uint8_t(s[3]));
}

inline constexpr size_t kBoxHeaderSize = 8;       // size32 + type
inline constexpr size_t kFullBoxHeaderSize = 12;  // + version + flags

// Writes a size placeholder and the type; returns the box's start offset for
// end_box().
size_t begin_box(core::ByteWriter& w, uint32_t type);
// Same, followed by the full-box version (8 bits) and flags (24 bits).
size_t begin_full_box(core::ByteWriter& w, uint32_t type, uint8_t version, uint32_t flags);
// Patches the size of the box begun at `start` to cover everything written
// since.
void end_box(core::ByteWriter& w, size_t start);

// The unity transformation matrix of mvhd/tkhd (36 bytes, 16.16 and 2.30).
void write_unity_matrix(core::ByteWriter& w);

}  // namespace weir::protocol
