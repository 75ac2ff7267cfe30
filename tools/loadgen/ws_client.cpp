#include "loadgen/ws_client.h"

#include <fmt/format.h>

namespace weir::loadgen {

using core::Status;

namespace {
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

std::string make_websocket_key(uint64_t seed) {
  static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t raw[18] = {};
  uint64_t a = splitmix(seed), b = splitmix(seed);
  for (int i = 0; i < 8; ++i) {
    raw[i] = uint8_t(a >> (8 * i));
    raw[8 + i] = uint8_t(b >> (8 * i));
  }
  std::string out;
  for (int i = 0; i < 18; i += 3) {
    uint32_t v = uint32_t(raw[i]) << 16 | uint32_t(raw[i + 1]) << 8 | raw[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  // 16 bytes -> 22 characters + "==".
  out.resize(22);
  out += "==";
  return out;
}

core::Slice make_masked_frame(uint8_t opcode, core::ByteView payload, uint32_t mask_key) {
  core::ByteWriter w(14 + payload.size());
  w.u8(uint8_t(0x80 | (opcode & 0x0F)));
  if (payload.size() < 126) {
    w.u8(uint8_t(0x80 | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    w.u8(0x80 | 126);
    w.u16be(uint16_t(payload.size()));
  } else {
    w.u8(0x80 | 127);
    w.u64be(payload.size());
  }
  uint8_t mask[4] = {uint8_t(mask_key >> 24), uint8_t(mask_key >> 16), uint8_t(mask_key >> 8), uint8_t(mask_key)};
  w.bytes(core::ByteView(mask, 4));
  uint8_t* dst = w.grow(payload.size());
  for (size_t i = 0; i < payload.size(); ++i) dst[i] = payload[i] ^ mask[i & 3];
  return w.finish();
}

Status WsClientFrameReader::feed(core::ByteView data, const std::function<void(const WsPiece&)>& on_piece) {
  if (failed_) return Status::error(error_);
  auto fail = [this](std::string why) {
    failed_ = true;
    error_ = "websocket: " + why;
    return Status::error(error_);
  };
  size_t pos = 0;
  while (pos < data.size()) {
    if (!in_payload_) {
      // Header: 2 bytes, then 0/2/8 length bytes (servers never mask).
      size_t need = 2;
      if (hdr_len_ >= 2) {
        uint8_t l7 = hdr_[1] & 0x7F;
        need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
      }
      while (hdr_len_ < need && pos < data.size()) {
        hdr_[hdr_len_++] = data[pos++];
        if (hdr_len_ == 2) {
          if (hdr_[0] & 0x70) return fail("reserved bits set in a server frame");
          if (hdr_[1] & 0x80) return fail("server frame is masked (RFC 6455 5.1)");
          uint8_t l7 = hdr_[1] & 0x7F;
          need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
        }
      }
      if (hdr_len_ < need) return Status::ok();
      fin_ = hdr_[0] & 0x80;
      opcode_ = hdr_[0] & 0x0F;
      uint8_t l7 = hdr_[1] & 0x7F;
      uint64_t len = l7;
      if (l7 == 126) len = uint64_t(hdr_[2]) << 8 | hdr_[3];
      if (l7 == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = len << 8 | hdr_[2 + i];
        if (len >> 63) return fail("64-bit frame length with the top bit set");
      }
      hdr_len_ = 0;
      bool control = opcode_ & 0x08;
      if (control && (!fin_ || len > 125)) return fail("control frame fragmented or over 125 bytes");
      if (len > max_frame_) return fail(fmt::format("frame of {} bytes over the {} cap", len, max_frame_));
      left_ = len;
      in_payload_ = true;
      started_ = false;
      control_len_ = 0;
      if (len == 0) {
        in_payload_ = false;
        WsPiece p{opcode_, true, true, fin_, {}};
        on_piece(p);
        continue;
      }
    }
    size_t take = size_t(std::min<uint64_t>(left_, data.size() - pos));
    core::ByteView part = data.subspan(pos, take);
    pos += take;
    left_ -= take;
    if (opcode_ & 0x08) {
      std::copy(part.begin(), part.end(), control_ + control_len_);
      control_len_ += take;
      if (left_ == 0) {
        in_payload_ = false;
        WsPiece p{opcode_, true, true, true, core::ByteView(control_, control_len_)};
        on_piece(p);
      }
      continue;
    }
    WsPiece p{opcode_, !started_, left_ == 0, fin_, part};
    started_ = true;
    if (left_ == 0) in_payload_ = false;
    on_piece(p);
  }
  return Status::ok();
}

}  // namespace weir::loadgen
