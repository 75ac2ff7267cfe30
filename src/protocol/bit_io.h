// Bit-level reading and writing for codec records (SPS/VPS, AudioSpecificConfig,
// AV1 sequence headers). Header-only; no state beyond the position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/buffer.h"

namespace weir::protocol {

// MSB-first bit reader over borrowed bytes. A failed read leaves the reader
// where it was and returns false.
class BitReader {
 public:
  explicit BitReader(core::ByteView v) : v_(v) {}

  size_t bits_left() const { return v_.size() * 8 - pos_; }

  bool bits(int n, uint32_t& out) {
    uint64_t v;
    if (n > 32 || !bits64(n, v)) return false;
    out = uint32_t(v);
    return true;
  }
  bool bits64(int n, uint64_t& out) {
    if (n < 0 || n > 64 || size_t(n) > bits_left()) return false;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v = v << 1 | ((v_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1);
      ++pos_;
    }
    out = v;
    return true;
  }
  bool flag(bool& out) {
    uint32_t v;
    if (!bits(1, v)) return false;
    out = v != 0;
    return true;
  }
  bool skip(size_t n) {
    if (n > bits_left()) return false;
    pos_ += n;
    return true;
  }
  // Unsigned exp-Golomb, up to 31 leading zeros (values up to 2^32 - 2).
  bool ue(uint32_t& out) {
    size_t save = pos_;
    int zeros = 0;
    while (true) {
      uint32_t b;
      if (!bits(1, b)) {
        pos_ = save;
        return false;
      }
      if (b) break;
      if (++zeros > 31) {
        pos_ = save;
        return false;
      }
    }
    uint32_t rest = 0;
    if (zeros && !bits(zeros, rest)) {
      pos_ = save;
      return false;
    }
    out = uint32_t((uint64_t(1) << zeros) - 1 + rest);
    return true;
  }
  bool se(int32_t& out) {
    uint32_t k;
    if (!ue(k)) return false;
    out = (k & 1) ? int32_t((uint64_t(k) + 1) / 2) : -int32_t(k / 2);
    return true;
  }

 private:
  core::ByteView v_;
  size_t pos_ = 0;
};

// MSB-first bit writer for the few bit-packed records we build.
class BitWriter {
 public:
  void put(uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      cur_ = uint8_t(cur_ << 1 | ((v >> i) & 1));
      if (++nbits_ == 8) {
        out_.push_back(cur_);
        cur_ = 0;
        nbits_ = 0;
      }
    }
  }
  std::vector<uint8_t> finish() {
    if (nbits_) out_.push_back(uint8_t(cur_ << (8 - nbits_)));
    cur_ = 0;
    nbits_ = 0;
    return std::move(out_);
  }

 private:
  std::vector<uint8_t> out_;
  uint8_t cur_ = 0;
  int nbits_ = 0;
};

}  // namespace weir::protocol
