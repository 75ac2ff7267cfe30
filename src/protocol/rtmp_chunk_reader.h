// RTMP chunk stream parser (RTMP spec 1.0, section 5.3) for one connection.
//
// Input arrives in arbitrary pieces (down to one byte at a time); the reader
// keeps its state between feed() calls and hands out each complete message.
//
// Behaviour worth knowing:
//  - Timestamps are reassembled per chunk stream (fmt 0 absolute, fmt 1/2
//    deltas, fmt 3 repeats the last delta, as FFmpeg, SRS and nginx-rtmp do)
//    and extended to 64 bits per chunk stream, so they never jump back by
//    2^32 when the 32-bit wire value wraps.
//  - Extended timestamps: read after a 0xFFFFFF field, and on fmt 3 chunks of
//    a chunk stream whose last header used one (Flash, FMS and FFmpeg send it
//    there). On fmt 3 *continuation* chunks some encoders (old librtmp,
//    nginx-rtmp without play_time_fix) omit it, so, like SRS, the 4 bytes are
//    taken as the extended timestamp only if they repeat the header's value.
//  - Set Chunk Size (type 1) and Abort (type 2) are applied by the reader
//    itself and still delivered to the callback.
//  - librtmp opens csid 2 with an fmt 1 header (its ping); that one case is
//    accepted with message stream id 0 (SRS issue #98). Any other fmt 1/2/3
//    on a chunk stream without a previous header is an error.
//
// Memory: a message's buffer starts at min(length, 64 KiB) and doubles only
// as bytes actually arrive (never above the declared length), at most
// max_incomplete_messages messages are partial at once, and at most
// max_chunk_streams chunk streams are tracked. The buffers of partial
// messages together stay within max_buffered_bytes, and, when a shared
// budget is given, within what it grants across every reader of the
// process; passing either is an error that names it.
//
// Threads: one reader per connection, used on that connection's loop only.
// After any error (including one returned by the callback) the reader stays
// failed and every later feed() returns the same error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "core/buffer.h"
#include "core/memory_budget.h"
#include "core/status.h"

namespace weir::protocol {

// RTMP message type ids.
namespace rtmp_type {
inline constexpr uint8_t kSetChunkSize = 1;
inline constexpr uint8_t kAbort = 2;
inline constexpr uint8_t kAcknowledgement = 3;
inline constexpr uint8_t kUserControl = 4;
inline constexpr uint8_t kWindowAckSize = 5;
inline constexpr uint8_t kSetPeerBandwidth = 6;
inline constexpr uint8_t kAudio = 8;
inline constexpr uint8_t kVideo = 9;
inline constexpr uint8_t kDataAmf3 = 15;
inline constexpr uint8_t kSharedObjectAmf3 = 16;
inline constexpr uint8_t kCommandAmf3 = 17;
inline constexpr uint8_t kDataAmf0 = 18;
inline constexpr uint8_t kSharedObjectAmf0 = 19;
inline constexpr uint8_t kCommandAmf0 = 20;
inline constexpr uint8_t kAggregate = 22;
}  // namespace rtmp_type

inline constexpr uint32_t kRtmpDefaultChunkSize = 128;
inline constexpr uint32_t kRtmpMaxChunkSize = 0xFFFFFF;  // larger values act like this
inline constexpr uint32_t kRtmpMinCsid = 2;
inline constexpr uint32_t kRtmpMaxCsid = 65599;

struct RtmpMessage {
  uint8_t type_id = 0;
  uint32_t stream_id = 0;  // message stream id
  uint32_t csid = 0;       // chunk stream it arrived on
  int64_t timestamp = 0;   // ms, extended past 32 bits per chunk stream
  core::Slice payload;     // owns its bytes
};

struct ChunkReaderLimits {
  uint32_t max_message_size = 0xFFFFFF;    // declared message length cap
  uint32_t max_incomplete_messages = 16;   // chunk streams with a partial message
  uint32_t max_chunk_streams = 256;        // distinct csids tracked
  uint64_t max_buffered_bytes = 64 << 20;  // buffers of partial messages, together
  core::MemoryBudget* shared = nullptr;    // process-wide budget for the same buffers (may be null)
};

class ChunkReader {
 public:
  using Callback = std::function<core::Status(RtmpMessage&&)>;

  explicit ChunkReader(ChunkReaderLimits limits = {});
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // Parses `data` (borrowed for the call only), calling on_message for every
  // message completed by it, in wire order. A non-ok status from the callback
  // stops parsing and is returned.
  core::Status feed(core::ByteView data, const Callback& on_message);

  // Every byte ever passed to feed() (for Acknowledgement messages).
  uint64_t bytes_received() const { return bytes_received_; }
  // Current incoming chunk size (128 until the peer sends Set Chunk Size).
  uint32_t chunk_size() const { return chunk_size_; }
  // Chunk streams currently holding a partial message.
  uint32_t incomplete_messages() const { return incomplete_; }
  // Bytes allocated for partial messages (what the limits count).
  uint64_t buffered_bytes() const { return buffered_; }
  bool failed() const { return !failure_.is_ok(); }

 private:
  struct ChunkStream;
  struct Header;

  // Returns bytes consumed from `in` for one chunk header, 0 if more input is
  // needed; sets failure_ on a protocol error (and returns 0).
  size_t parse_header(core::ByteView in, Header& h);
  core::Status begin_chunk(const Header& h);
  core::Status complete_message(ChunkStream& cs, const Callback& on_message);
  core::Status apply_control(const RtmpMessage& m);
  core::Status fail(core::Status st);
  ChunkStream* find_stream(uint32_t csid);
  // Accounts for a partial message's buffer growing by `n` bytes; an error
  // if a limit would pass. release_buffer gives back `n` bytes.
  core::Status reserve_buffer(uint64_t n, uint32_t csid);
  void release_buffer(uint64_t n);

  ChunkReaderLimits limits_;
  uint32_t chunk_size_ = kRtmpDefaultChunkSize;
  uint64_t bytes_received_ = 0;
  uint32_t incomplete_ = 0;
  uint64_t buffered_ = 0;
  core::Status failure_;

  // Partial chunk header carried over from the previous feed().
  uint8_t carry_[32];
  size_t carry_len_ = 0;

  // Chunk payload in progress: which stream, and bytes still due in this chunk.
  ChunkStream* current_ = nullptr;
  uint32_t chunk_left_ = 0;

  std::unordered_map<uint32_t, std::unique_ptr<ChunkStream>> streams_;
};

}  // namespace weir::protocol
