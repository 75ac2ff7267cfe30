#include "protocol/rtmp_chunk_writer.h"

#include <algorithm>
#include <cassert>

namespace weir::protocol {

namespace {

constexpr uint32_t kExtendedMarker = 0xFFFFFF;

size_t basic_header(uint8_t* out, uint8_t fmt, uint32_t csid) {
  assert(csid >= 2 && csid <= 65599);
  if (csid < 64) {
    out[0] = uint8_t(fmt << 6 | csid);
    return 1;
  }
  if (csid < 64 + 256) {
    out[0] = uint8_t(fmt << 6);
    out[1] = uint8_t(csid - 64);
    return 2;
  }
  out[0] = uint8_t(fmt << 6 | 1);
  out[1] = uint8_t((csid - 64) & 0xFF);
  out[2] = uint8_t((csid - 64) >> 8);
  return 3;
}

size_t basic_header_size(uint32_t csid) { return csid < 64 ? 1 : csid < 320 ? 2 : 3; }

void put_be24(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 16);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v);
}

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace

size_t write_fmt0_header(uint8_t* out, uint32_t csid, uint32_t ts32, uint32_t length,
                         uint8_t type_id, uint32_t stream_id) {
  assert(length <= 0xFFFFFF);
  size_t n = basic_header(out, 0, csid);
  uint8_t* m = out + n;
  bool ext = ts32 >= kExtendedMarker;
  put_be24(m, ext ? kExtendedMarker : ts32);
  put_be24(m + 3, length);
  m[6] = type_id;
  m[7] = uint8_t(stream_id);  // message stream id is little-endian
  m[8] = uint8_t(stream_id >> 8);
  m[9] = uint8_t(stream_id >> 16);
  m[10] = uint8_t(stream_id >> 24);
  n += 11;
  if (ext) {
    put_be32(out + n, ts32);
    n += 4;
  }
  return n;
}

size_t write_fmt3_header(uint8_t* out, uint32_t csid, uint32_t ts32) {
  size_t n = basic_header(out, 3, csid);
  if (ts32 >= kExtendedMarker) {
    put_be32(out + n, ts32);
    n += 4;
  }
  return n;
}

void ChunkWriter::set_chunk_size(uint32_t size) {
  chunk_size_ = std::clamp<uint32_t>(size, 1, kExtendedMarker);
}

size_t ChunkWriter::chunked_size(uint32_t csid, uint32_t ts32, size_t payload_size) const {
  size_t ext = ts32 >= kExtendedMarker ? 4 : 0;
  size_t chunks = payload_size == 0 ? 1 : (payload_size + chunk_size_ - 1) / chunk_size_;
  size_t fmt0 = basic_header_size(csid) + 11 + ext;
  size_t fmt3 = basic_header_size(csid) + ext;
  return fmt0 + (chunks - 1) * fmt3 + payload_size;
}

void ChunkWriter::write(core::ByteWriter& out, uint32_t csid, uint8_t type_id,
                        uint32_t stream_id, int64_t timestamp_ms, core::ByteView payload) const {
  uint32_t ts32 = uint32_t(uint64_t(timestamp_ms));
  uint8_t hdr[kRtmpMaxFmt0HeaderSize];
  size_t n = write_fmt0_header(hdr, csid, ts32, uint32_t(payload.size()), type_id, stream_id);
  out.bytes(core::ByteView(hdr, n));
  size_t fmt3_len = write_fmt3_header(hdr, csid, ts32);
  size_t off = 0;
  for (;;) {
    size_t take = std::min<size_t>(chunk_size_, payload.size() - off);
    out.bytes(payload.subspan(off, take));
    off += take;
    if (off >= payload.size()) break;
    out.bytes(core::ByteView(hdr, fmt3_len));
  }
}

}  // namespace weir::protocol
