// WebSocket, client side (RFC 6455): a random Sec-WebSocket-Key, masked
// client frames, and a streaming parser for the unmasked frames a server
// sends. Weir's protocol/ws_frame.h is the server side (it requires masked
// input); the accept-key computation is reused from there.
//
// The parser hands out data-frame payload in pieces as it arrives (no
// reassembly: an FLV player only needs the byte stream), collects control
// frames (<= 125 bytes) whole.
//
// Thread: one parser per connection, one thread; pure functions any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::loadgen {

// 16 random bytes, base64 (24 characters).
std::string make_websocket_key(uint64_t seed);

// One masked client frame (FIN set) with the given opcode and mask key.
core::Slice make_masked_frame(uint8_t opcode, core::ByteView payload, uint32_t mask_key);

struct WsPiece {
  uint8_t opcode = 0;       // of the frame (0 = continuation)
  bool frame_start = false; // first piece of this frame's payload
  bool frame_end = false;   // last piece of this frame's payload
  bool fin = false;         // FIN bit of the frame
  core::ByteView payload;   // borrowed for the callback only
};

class WsClientFrameReader {
 public:
  // Largest data frame accepted (server frames of an FLV stream are one tag).
  explicit WsClientFrameReader(uint64_t max_frame = 64u << 20) : max_frame_(max_frame) {}

  // Calls on_piece for data-frame payload as it arrives (a zero-length frame
  // yields one empty piece) and for each whole control frame. Errors: masked
  // server frame, reserved bits, control frame > 125 bytes or fragmented,
  // frame over max_frame, non-minimal 64-bit length with the top bit set.
  core::Status feed(core::ByteView data, const std::function<void(const WsPiece&)>& on_piece);

 private:
  uint64_t max_frame_;
  uint8_t hdr_[10] = {};
  size_t hdr_len_ = 0;
  bool in_payload_ = false;
  bool fin_ = false;
  uint8_t opcode_ = 0;
  uint64_t left_ = 0;
  bool started_ = false;
  uint8_t control_[125] = {};
  size_t control_len_ = 0;
  bool failed_ = false;
  std::string error_;
};

}  // namespace weir::loadgen
