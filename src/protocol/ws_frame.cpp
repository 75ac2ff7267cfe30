#include "protocol/ws_frame.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>

namespace weir::protocol {

namespace {
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_control(uint8_t opcode) { return opcode & 0x8; }
bool known_opcode(uint8_t op) {
  return op == ws::kContinuation || op == ws::kText || op == ws::kBinary || op == ws::kClose || op == ws::kPing ||
         op == ws::kPong;
}
bool valid_close_code(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}
bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
}  // namespace

std::string websocket_accept_key(std::string_view client_key) {
  std::string in(client_key);
  in.append(kWsGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(out), size_t(n));
}

bool valid_websocket_key(std::string_view key) {
  // 16 bytes -> 22 base64 characters + "==".
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  return std::all_of(key.begin(), key.begin() + 22, is_base64_char);
}

size_t write_ws_frame_header(uint8_t out[ws::kMaxFrameHeader], uint8_t opcode, bool fin, uint64_t payload_len) {
  out[0] = uint8_t((fin ? 0x80 : 0) | (opcode & 0x0F));
  if (payload_len < 126) {
    out[1] = uint8_t(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {
    out[1] = 126;
    out[2] = uint8_t(payload_len >> 8);
    out[3] = uint8_t(payload_len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = uint8_t(payload_len >> (56 - 8 * i));
  return 10;
}

core::Slice make_ws_frame(uint8_t opcode, core::ByteView payload) {
  uint8_t hdr[ws::kMaxFrameHeader];
  size_t n = write_ws_frame_header(hdr, opcode, true, payload.size());
  core::ByteWriter w(n + payload.size());
  w.bytes(core::ByteView(hdr, n));
  w.bytes(payload);
  return w.finish();
}

core::Slice make_ws_close_frame(uint16_t code, std::string_view reason) {
  uint8_t body[ws::kMaxControlPayload];
  body[0] = uint8_t(code >> 8);
  body[1] = uint8_t(code);
  size_t n = std::min(reason.size(), ws::kMaxControlPayload - 2);
  std::copy_n(reason.data(), n, body + 2);
  return make_ws_frame(ws::kClose, core::ByteView(body, n + 2));
}

WsFrameParser::WsFrameParser(size_t max_message) : max_message_(max_message) {}

core::Status WsFrameParser::fail(uint16_t code, std::string reason) {
  failed_ = true;
  close_code_ = code;
  error_ = std::move(reason);
  return core::Status::error(error_);
}

core::Status WsFrameParser::feed(core::ByteView data, const Callback& cb) {
  if (failed_) return core::Status::error(error_);
  size_t i = 0;
  while (i < data.size() && !closed_) {
    if (!in_payload_) {
      hdr_[hdr_len_++] = data[i++];
      if (hdr_len_ == 2) {
        const uint8_t b0 = hdr_[0], b1 = hdr_[1];
        fin_ = b0 & 0x80;
        opcode_ = b0 & 0x0F;
        if (b0 & 0x70) return fail(ws::kCloseProtocolError, "ws: reserved bits set without an extension");
        if (!known_opcode(opcode_)) return fail(ws::kCloseProtocolError, fmt::format("ws: reserved opcode {}", opcode_));
        if (!(b1 & 0x80)) return fail(ws::kCloseProtocolError, "ws: unmasked client frame");
        if (is_control(opcode_)) {
          if (!fin_) return fail(ws::kCloseProtocolError, "ws: fragmented control frame");
          if ((b1 & 0x7F) > ws::kMaxControlPayload)
            return fail(ws::kCloseProtocolError,
                        fmt::format("ws: control frame payload of more than {} bytes", ws::kMaxControlPayload));
        } else if (opcode_ == ws::kContinuation) {
          if (message_opcode_ == 0) return fail(ws::kCloseProtocolError, "ws: continuation frame without a message");
        } else if (message_opcode_ != 0) {
          return fail(ws::kCloseProtocolError, "ws: new data frame inside a fragmented message");
        }
      }
      if (hdr_len_ < 2) continue;
      const uint8_t len7 = hdr_[1] & 0x7F;
      const size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
      if (hdr_len_ < need) continue;
      if (auto st = parse_header(cb); !st) return st;
      continue;
    }
    const uint64_t want = payload_len_ - payload_got_;
    const size_t take = size_t(std::min<uint64_t>(want, data.size() - i));
    auto& dst = is_control(opcode_) ? control_ : message_;
    const size_t base = dst.size();
    dst.resize(base + take);
    for (size_t k = 0; k < take; ++k) dst[base + k] = data[i + k] ^ mask_[(payload_got_ + k) & 3];
    payload_got_ += take;
    i += take;
    if (payload_got_ == payload_len_)
      if (auto st = finish_frame(cb); !st) return st;
  }
  return core::Status::ok();
}

core::Status WsFrameParser::parse_header(const Callback& cb) {
  const uint8_t len7 = hdr_[1] & 0x7F;
  size_t pos = 2;
  uint64_t len = len7;
  if (len7 == 126) {
    len = uint64_t(hdr_[2]) << 8 | hdr_[3];
    pos = 4;
    if (len < 126) return fail(ws::kCloseProtocolError, "ws: 16-bit length used for a payload under 126 bytes");
  } else if (len7 == 127) {
    len = 0;
    for (int k = 0; k < 8; ++k) len = len << 8 | hdr_[2 + k];
    pos = 10;
    if (len >> 63) return fail(ws::kCloseProtocolError, "ws: 64-bit length with the top bit set");
    if (len <= 0xFFFF) return fail(ws::kCloseProtocolError, "ws: 64-bit length used for a payload under 65536 bytes");
  }
  std::copy_n(hdr_ + pos, 4, mask_);
  if (!is_control(opcode_)) {
    if (len > max_message_ || message_.size() + len > max_message_)
      return fail(ws::kCloseTooBig, fmt::format("ws: message exceeds {} bytes", max_message_));
    if (opcode_ != ws::kContinuation) message_opcode_ = opcode_;
  } else {
    control_.clear();
  }
  payload_len_ = len;
  payload_got_ = 0;
  hdr_len_ = 0;
  in_payload_ = true;
  if (len == 0) return finish_frame(cb);
  return core::Status::ok();
}

core::Status WsFrameParser::finish_frame(const Callback& cb) {
  in_payload_ = false;
  if (is_control(opcode_)) {
    if (opcode_ == ws::kClose) {
      if (control_.size() == 1) return fail(ws::kCloseProtocolError, "ws: close frame with a 1-byte payload");
      if (control_.size() >= 2) {
        uint16_t code = uint16_t(control_[0] << 8 | control_[1]);
        if (!valid_close_code(code)) return fail(ws::kCloseProtocolError, fmt::format("ws: invalid close code {}", code));
      }
      closed_ = true;
    }
    cb(WsMessage{opcode_, core::ByteView(control_.data(), control_.size())});
    control_.clear();
    return core::Status::ok();
  }
  if (fin_) {
    const uint8_t op = message_opcode_;
    message_opcode_ = 0;
    cb(WsMessage{op, core::ByteView(message_.data(), message_.size())});
    message_.clear();
    // Keep a small buffer for the next message, not the largest one seen.
    if (message_.capacity() > 64 * 1024) message_.shrink_to_fit();
  }
  return core::Status::ok();
}

}  // namespace weir::protocol
