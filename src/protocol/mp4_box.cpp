#include "protocol/mp4_box.h"

namespace weir::protocol {

size_t begin_box(core::ByteWriter& w, uint32_t type) {
  size_t start = w.size();
  w.u32be(0);
  w.u32be(type);
  return start;
}

size_t begin_full_box(core::ByteWriter& w, uint32_t type, uint8_t version, uint32_t flags) {
  size_t start = begin_box(w, type);
  w.u32be(uint32_t(version) << 24 | (flags & 0xFFFFFF));
  return start;
}

void end_box(core::ByteWriter& w, size_t start) {
  w.patch_u32be(start, uint32_t(w.size() - start));
}

void write_unity_matrix(core::ByteWriter& w) {
  static constexpr uint32_t kMatrix[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};
  for (uint32_t v : kMatrix) w.u32be(v);
}

}  // namespace weir::protocol
