// RTMP chunk serializer.
//
// Every message goes out as an fmt 0 chunk followed by fmt 3 continuations
// (what SRS does; every peer accepts it, and it keeps the writer stateless per
// chunk stream, so one chunking of a media message can be shared by all
// viewers of a stream). A timestamp >= 0xFFFFFF is sent as an extended
// timestamp on the fmt 0 chunk and repeated on every fmt 3 chunk, as Flash,
// FMS and FFmpeg expect. Only the low 32 bits of a timestamp are sent.
//
// Preconditions (programming errors, asserted): csid in 2..65599, payload
// shorter than 2^24 bytes.
//
// Threads: a ChunkWriter belongs to one connection; the free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/buffer.h"

namespace weir::protocol {

inline constexpr size_t kRtmpMaxFmt0HeaderSize = 18;  // 3 basic + 11 + 4 extended
inline constexpr size_t kRtmpMaxFmt3HeaderSize = 7;   // 3 basic + 4 extended

class ChunkWriter {
 public:
  // Outgoing chunk size: 1..0xFFFFFF (clamped); the peer must have been told
  // with a Set Chunk Size message before chunks of the new size go out.
  void set_chunk_size(uint32_t size);
  uint32_t chunk_size() const { return chunk_size_; }

  void write(core::ByteWriter& out, uint32_t csid, uint8_t type_id, uint32_t stream_id,
             int64_t timestamp_ms, core::ByteView payload) const;

  // Bytes write() would produce for a payload of this size.
  size_t chunked_size(uint32_t csid, uint32_t ts32, size_t payload_size) const;

 private:
  uint32_t chunk_size_ = 128;
};

// Precomputed headers for the fan-out path. `out` needs room for
// kRtmpMaxFmt0HeaderSize / kRtmpMaxFmt3HeaderSize bytes; each returns the
// header length written. write_fmt3_header repeats the extended timestamp
// when ts32 >= 0xFFFFFF, to go with an fmt 0 header written with the same ts32.
size_t write_fmt0_header(uint8_t* out, uint32_t csid, uint32_t ts32, uint32_t length,
                         uint8_t type_id, uint32_t stream_id);
size_t write_fmt3_header(uint8_t* out, uint32_t csid, uint32_t ts32);

}  // namespace weir::protocol
