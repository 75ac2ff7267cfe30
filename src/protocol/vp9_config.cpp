#include "protocol/vp9_config.h"

#include <vector>

#include "protocol/bit_io.h"

namespace weir::protocol {

using core::ByteView;
using core::Status;

core::Result<Vp9Config> parse_vp9_codec_config(ByteView v) {
  size_t at = 0;
  if (v.size() >= 12 && v[1] == 0 && v[2] == 0 && v[3] == 0) {
    if (v[0] != 1) return Status::errorf("vpcC: version {}, want 1", v[0]);
    at = 4;
  } else if (v.size() < 8) {
    return Status::errorf("vpcC: {} bytes, needs 8 (12 with the box header)", v.size());
  }
  Vp9Config c;
  c.profile = v[at];
  c.level = v[at + 1];
  c.bit_depth = v[at + 2] >> 4;
  c.chroma_subsampling = (v[at + 2] >> 1) & 0x07;
  c.full_range = v[at + 2] & 0x01;
  c.colour_primaries = v[at + 3];
  c.transfer_characteristics = v[at + 4];
  c.matrix_coefficients = v[at + 5];
  uint16_t init = uint16_t(v[at + 6] << 8 | v[at + 7]);
  if (c.profile > 3) return Status::errorf("vpcC: profile {}", c.profile);
  if (c.bit_depth != 8 && c.bit_depth != 10 && c.bit_depth != 12) {
    return Status::errorf("vpcC: bit depth {}", c.bit_depth);
  }
  if (c.chroma_subsampling > kVp9Chroma444) {
    return Status::errorf("vpcC: chroma subsampling {}", c.chroma_subsampling);
  }
  if (init != 0) return Status::errorf("vpcC: {} bytes of codec initialization data (VP9 has none)", init);
  return c;
}

core::Slice build_vp9_codec_config(const Vp9Config& c) {
  core::ByteWriter w(12);
  w.u32be(0x01000000);  // version 1, flags 0
  w.u8(c.profile);
  w.u8(c.level);
  w.u8(uint8_t((c.bit_depth & 0x0F) << 4 | (c.chroma_subsampling & 0x07) << 1 | (c.full_range ? 1 : 0)));
  w.u8(c.colour_primaries);
  w.u8(c.transfer_characteristics);
  w.u8(c.matrix_coefficients);
  w.u16be(0);  // codecInitializationDataSize
  return w.finish();
}

namespace {

constexpr uint8_t kVp9CsRgb = 7;

Status parse_one_frame(ByteView frame, Vp9FrameHeader& h) {
  BitReader br(frame);
  uint32_t v = 0, lo = 0, hi = 0;
  if (!br.bits(2, v) || v != 2) return Status::error("VP9 frame: bad frame marker");
  if (!br.bits(1, lo) || !br.bits(1, hi)) return Status::error("VP9 frame: truncated profile");
  h.profile = uint8_t(hi << 1 | lo);
  if (h.profile == 3 && !br.skip(1)) return Status::error("VP9 frame: truncated reserved bit");
  if (!br.flag(h.show_existing_frame)) return Status::error("VP9 frame: truncated header");
  if (h.show_existing_frame) return Status::ok();
  bool non_key = false, error_resilient = false;
  if (!br.flag(non_key) || !br.flag(h.show_frame) || !br.flag(error_resilient)) {
    return Status::error("VP9 frame: truncated header");
  }
  h.keyframe = !non_key;
  if (!h.keyframe) return Status::ok();
  uint32_t sync = 0;
  if (!br.bits(24, sync) || sync != 0x498342) return Status::error("VP9 key frame: bad sync code");
  h.bit_depth = 8;
  if (h.profile >= 2) {
    if (!br.bits(1, v)) return Status::error("VP9 key frame: truncated bit depth");
    h.bit_depth = v ? 12 : 10;
  }
  if (!br.bits(3, v)) return Status::error("VP9 key frame: truncated color space");
  h.color_space = uint8_t(v);
  bool odd_profile = h.profile == 1 || h.profile == 3;
  if (h.color_space != kVp9CsRgb) {
    if (!br.flag(h.full_range)) return Status::error("VP9 key frame: truncated color range");
    if (odd_profile) {
      if (!br.flag(h.subsampling_x) || !br.flag(h.subsampling_y) || !br.skip(1)) {
        return Status::error("VP9 key frame: truncated subsampling");
      }
    } else {
      h.subsampling_x = h.subsampling_y = true;
    }
  } else {
    h.full_range = true;
    h.subsampling_x = h.subsampling_y = false;
    if (odd_profile && !br.skip(1)) return Status::error("VP9 key frame: truncated reserved bit");
  }
  uint32_t w = 0, ht = 0;
  if (!br.bits(16, w) || !br.bits(16, ht)) return Status::error("VP9 key frame: truncated frame size");
  h.width = w + 1;
  h.height = ht + 1;
  return Status::ok();
}

// Frame sizes from a superframe index (bitstream spec Annex B); empty when
// `data` is a single frame or the index is malformed.
std::vector<ByteView> superframe_frames(ByteView data) {
  std::vector<ByteView> out;
  if (data.empty()) return out;
  uint8_t marker = data.back();
  if ((marker & 0xE0) != 0xC0) return out;
  size_t frames = (marker & 0x07) + 1;
  size_t bytes = ((marker >> 3) & 0x03) + 1;
  size_t index = 2 + bytes * frames;
  if (data.size() < index || data[data.size() - index] != marker) return out;
  size_t pos = data.size() - index + 1, start = 0, limit = data.size() - index;
  for (size_t i = 0; i < frames; ++i) {
    size_t size = 0;
    for (size_t b = 0; b < bytes; ++b) size |= size_t(data[pos++]) << (8 * b);
    if (size > limit - start) return {};
    out.push_back(data.subspan(start, size));
    start += size;
  }
  return out;
}

}  // namespace

core::Result<Vp9FrameHeader> parse_vp9_frame_header(ByteView frame) {
  if (frame.empty()) return Status::error("VP9 frame: empty");
  std::vector<ByteView> frames = superframe_frames(frame);
  if (frames.empty()) frames.push_back(frame);
  Vp9FrameHeader first;
  for (size_t i = 0; i < frames.size(); ++i) {
    Vp9FrameHeader h;
    if (Status s = parse_one_frame(frames[i], h); !s) return s;
    if (h.keyframe) return h;
    if (i == 0) first = h;
  }
  return first;
}

Vp9Config vp9_config_from_keyframe(const Vp9FrameHeader& k) {
  // VP9 color_space (bitstream spec 7.2) -> ISO/IEC 23091-4 matrix coefficients.
  static constexpr uint8_t kMatrix[8] = {2, 5, 1, 6, 7, 9, 2, 0};  // unknown, 601, 709, 170M, 240M, 2020, reserved, RGB
  Vp9Config c;
  c.profile = k.profile;
  c.bit_depth = k.bit_depth;
  c.full_range = k.full_range;
  c.matrix_coefficients = kMatrix[k.color_space & 7];
  if (!k.subsampling_x && !k.subsampling_y) {
    c.chroma_subsampling = kVp9Chroma444;
  } else if (k.subsampling_x && !k.subsampling_y) {
    c.chroma_subsampling = kVp9Chroma422;
  } else {
    c.chroma_subsampling = kVp9Chroma420Vertical;
  }
  return c;
}

}  // namespace weir::protocol
