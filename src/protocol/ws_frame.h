// WebSocket framing (RFC 6455), server side: the accept key, unmasked server
// frame headers, and an incremental parser for (masked) client frames.
//
// Thread: functions are pure; one WsFrameParser per connection, used by one
// thread at a time.
// Ownership: the parser copies payload bytes it must keep across feed() calls
// (a fragmented message, a frame split across reads); a WsMessage's payload is
// valid only during the callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

namespace ws {
constexpr uint8_t kContinuation = 0x0;
constexpr uint8_t kText = 0x1;
constexpr uint8_t kBinary = 0x2;
constexpr uint8_t kClose = 0x8;
constexpr uint8_t kPing = 0x9;
constexpr uint8_t kPong = 0xA;

// Close status codes (RFC 6455 7.4.1).
constexpr uint16_t kCloseNormal = 1000;
constexpr uint16_t kCloseGoingAway = 1001;
constexpr uint16_t kCloseProtocolError = 1002;
constexpr uint16_t kCloseTooBig = 1009;

constexpr size_t kMaxControlPayload = 125;
constexpr size_t kMaxFrameHeader = 10;  // server frames: no mask key
}  // namespace ws

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2):
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string websocket_accept_key(std::string_view client_key);

// True if `key` is base64 of 16 bytes (24 characters), as RFC 6455 4.1 requires.
bool valid_websocket_key(std::string_view key);

// Writes an unmasked server frame header into out; returns its length (2, 4 or
// 10). The payload follows it on the wire unchanged.
size_t write_ws_frame_header(uint8_t out[ws::kMaxFrameHeader], uint8_t opcode, bool fin, uint64_t payload_len);

// One whole unmasked server frame (header + payload) in one buffer; for small
// frames such as control frames.
core::Slice make_ws_frame(uint8_t opcode, core::ByteView payload);
// A close frame carrying `code` and a UTF-8 `reason` (truncated to fit 125 bytes).
core::Slice make_ws_close_frame(uint16_t code, std::string_view reason);

struct WsMessage {
  uint8_t opcode = 0;       // kText, kBinary (whole reassembled message) or kClose, kPing, kPong
  core::ByteView payload;   // unmasked; valid during the callback only
};

// Parses client-to-server frames. Invariants: every client frame must be masked
// (RFC 6455 5.1); RSV bits must be 0 (no extensions negotiated); control
// frames are FIN and at most 125 bytes and may arrive between the fragments of
// a data message; a data message (all fragments) is capped at max_message; a
// length uses the minimal encoding with the top bit of a 64-bit length clear.
// After a close frame has been delivered, further input is ignored.
class WsFrameParser {
 public:
  using Callback = std::function<void(const WsMessage&)>;

  explicit WsFrameParser(size_t max_message);

  // Delivers each complete message to `cb` in order. On a protocol error,
  // returns it (later calls repeat it); close_code() then says which close
  // status to send (1002 or 1009).
  core::Status feed(core::ByteView data, const Callback& cb);
  bool closed() const { return closed_; }
  uint16_t close_code() const { return close_code_; }

 private:
  core::Status fail(uint16_t code, std::string reason);
  core::Status parse_header(const Callback& cb);
  core::Status finish_frame(const Callback& cb);

  size_t max_message_;
  // Current frame header, accumulated across feed() calls.
  uint8_t hdr_[14] = {};
  size_t hdr_len_ = 0;
  bool in_payload_ = false;
  bool fin_ = false;
  uint8_t opcode_ = 0;
  uint8_t mask_[4] = {};
  uint64_t payload_len_ = 0;
  uint64_t payload_got_ = 0;
  // Control frame payload (<=125 bytes) being collected.
  std::vector<uint8_t> control_;
  // Data message being reassembled (all fragments so far).
  std::vector<uint8_t> message_;
  uint8_t message_opcode_ = 0;  // 0 = no data message in progress
  bool closed_ = false;
  bool failed_ = false;
  uint16_t close_code_ = 0;
  std::string error_;
};

}  // namespace weir::protocol
