#include "protocol/flv_writer.h"

namespace weir::protocol {

void write_flv_header(core::ByteWriter& out, bool has_audio, bool has_video) {
  uint8_t* p = out.grow(kFlvHeaderSize + kFlvPrevTagSizeSize);
  p[0] = 'F';
  p[1] = 'L';
  p[2] = 'V';
  p[3] = 1;
  p[4] = uint8_t((has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0));
  p[5] = 0;
  p[6] = 0;
  p[7] = 0;
  p[8] = kFlvHeaderSize;
  write_prev_tag_size(p + kFlvHeaderSize, 0);
}

void write_tag_header(uint8_t out[kFlvTagHeaderSize], uint8_t type, uint32_t data_size,
                      uint32_t ts32) {
  out[0] = type & 0x1F;
  out[1] = uint8_t(data_size >> 16);
  out[2] = uint8_t(data_size >> 8);
  out[3] = uint8_t(data_size);
  out[4] = uint8_t(ts32 >> 16);
  out[5] = uint8_t(ts32 >> 8);
  out[6] = uint8_t(ts32);
  out[7] = uint8_t(ts32 >> 24);
  out[8] = 0;
  out[9] = 0;
  out[10] = 0;
}

void write_prev_tag_size(uint8_t out[kFlvPrevTagSizeSize], uint32_t size) {
  out[0] = uint8_t(size >> 24);
  out[1] = uint8_t(size >> 16);
  out[2] = uint8_t(size >> 8);
  out[3] = uint8_t(size);
}

void write_tag(core::ByteWriter& out, uint8_t type, int64_t ts_ms, core::ByteView body) {
  uint32_t size = uint32_t(body.size());
  write_tag_header(out.grow(kFlvTagHeaderSize), type, size, uint32_t(uint64_t(ts_ms)));
  out.bytes(body);
  write_prev_tag_size(out.grow(kFlvPrevTagSizeSize), size + uint32_t(kFlvTagHeaderSize));
}

}  // namespace weir::protocol
