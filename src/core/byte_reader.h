// Bounds-checked big-endian reader over borrowed bytes. Every read checks the
// remaining length first; a failed read returns false / nullopt and leaves the
// position unchanged, so parsers never index past what the wire gave them.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>

#include "core/buffer.h"

namespace weir::core {

class ByteReader {
 public:
  explicit ByteReader(ByteView v) : v_(v) {}

  size_t remaining() const { return v_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return pos_ >= v_.size(); }
  ByteView rest() const { return v_.subspan(pos_); }

  bool skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  bool u8(uint8_t& out) {
    if (remaining() < 1) return false;
    out = v_[pos_++];
    return true;
  }
  bool u16be(uint16_t& out) {
    if (remaining() < 2) return false;
    out = uint16_t(v_[pos_] << 8 | v_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u24be(uint32_t& out) {
    if (remaining() < 3) return false;
    out = uint32_t(v_[pos_]) << 16 | uint32_t(v_[pos_ + 1]) << 8 | v_[pos_ + 2];
    pos_ += 3;
    return true;
  }
  bool u32be(uint32_t& out) {
    if (remaining() < 4) return false;
    out = uint32_t(v_[pos_]) << 24 | uint32_t(v_[pos_ + 1]) << 16 | uint32_t(v_[pos_ + 2]) << 8 |
          v_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool u32le(uint32_t& out) {
    if (remaining() < 4) return false;
    out = uint32_t(v_[pos_ + 3]) << 24 | uint32_t(v_[pos_ + 2]) << 16 |
          uint32_t(v_[pos_ + 1]) << 8 | v_[pos_];
    pos_ += 4;
    return true;
  }
  bool u64be(uint64_t& out) {
    uint32_t hi = 0, lo = 0;
    if (remaining() < 8) return false;
    u32be(hi);
    u32be(lo);
    out = uint64_t(hi) << 32 | lo;
    return true;
  }
  bool f64be(double& out) {
    uint64_t u;
    if (!u64be(u)) return false;
    out = std::bit_cast<double>(u);
    return true;
  }
  bool bytes(size_t n, ByteView& out) {
    if (remaining() < n) return false;
    out = v_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  ByteView v_;
  size_t pos_ = 0;
};

}  // namespace weir::core
