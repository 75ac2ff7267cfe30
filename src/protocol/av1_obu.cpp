#include "protocol/av1_obu.h"

#include <algorithm>
#include <cstdint>

#include "core/byte_reader.h"
#include "protocol/bit_io.h"

namespace weir::protocol {

using core::ByteView;

bool split_obus(core::ByteView data, std::vector<Obu>& out) {
  core::ByteReader r(data);
  while (!r.empty()) {
    Obu obu;
    obu.offset = r.position();
    uint8_t h;
    if (!r.u8(h) || (h & 0x80)) return false;  // forbidden bit
    obu.type = (h >> 3) & 0x0F;
    if ((h & 0x04) && !r.skip(1)) return false;  // extension header
    uint64_t len = r.remaining();
    if (h & 0x02) {
      len = 0;
      for (int i = 0;; ++i) {
        uint8_t b;
        if (i == 8 || !r.u8(b)) return false;
        len |= uint64_t(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) break;
      }
    }
    if (!r.bytes(size_t(std::min<uint64_t>(len, SIZE_MAX)), obu.payload)) return false;
    obu.size = r.position() - obu.offset;
    out.push_back(obu);
  }
  return true;
}

namespace {
// The sequence header is read as the spec's pseudo-code does: f(n) reads on
// and a failure is checked once at the end.
class SpecBits {
 public:
  explicit SpecBits(core::ByteView v) : r_(v) {}
  bool ok() const { return ok_; }
  uint32_t f(int n) {
    uint32_t v = 0;
    if (ok_ && !r_.bits(n, v)) ok_ = false;
    return ok_ ? v : 0;
  }
  void uvlc() {
    uint32_t v;
    if (ok_ && !r_.ue(v)) ok_ = false;
  }

 private:
  BitReader r_;
  bool ok_ = true;
};
}  // namespace

bool parse_av1_sequence_header(core::ByteView obu_payload, Av1SequenceHeader& out) {
  SpecBits b(obu_payload);
  Av1SequenceHeader h;
  h.seq_profile = uint8_t(b.f(3));
  h.still_picture = b.f(1);
  h.reduced_still_picture_header = b.f(1);
  if (h.reduced_still_picture_header) {
    h.seq_level_idx_0 = uint8_t(b.f(5));
  } else {
    bool decoder_model_info_present = false;
    int buffer_delay_length = 0;
    if (b.f(1)) {  // timing_info_present_flag
      b.f(32);     // num_units_in_display_tick
      b.f(32);     // time_scale
      if (b.f(1)) b.uvlc();  // equal_picture_interval -> num_ticks_per_picture_minus_1
      decoder_model_info_present = b.f(1);
      if (decoder_model_info_present) {
        buffer_delay_length = int(b.f(5)) + 1;
        b.f(32);  // num_units_in_decoding_tick
        b.f(5);   // buffer_removal_time_length_minus_1
        b.f(5);   // frame_presentation_time_length_minus_1
      }
    }
    bool initial_display_delay_present = b.f(1);
    int op_count = int(b.f(5)) + 1;
    for (int i = 0; i < op_count && b.ok(); ++i) {
      b.f(12);  // operating_point_idc
      uint32_t level = b.f(5);
      bool tier = level > 7 ? b.f(1) : false;
      if (i == 0) {
        h.seq_level_idx_0 = uint8_t(level);
        h.seq_tier_0 = tier;
      }
      if (decoder_model_info_present && b.f(1)) {
        b.f(buffer_delay_length);  // decoder_buffer_delay
        b.f(buffer_delay_length);  // encoder_buffer_delay
        b.f(1);                    // low_delay_mode_flag
      }
      if (initial_display_delay_present && b.f(1)) b.f(4);
    }
  }
  int wbits = int(b.f(4)) + 1;
  int hbits = int(b.f(4)) + 1;
  h.max_width = b.f(wbits) + 1;
  h.max_height = b.f(hbits) + 1;
  bool frame_id_numbers_present = h.reduced_still_picture_header ? false : b.f(1);
  if (frame_id_numbers_present) {
    b.f(4);  // delta_frame_id_length_minus_2
    b.f(3);  // additional_frame_id_length_minus_1
  }
  b.f(3);  // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!h.reduced_still_picture_header) {
    b.f(4);  // enable_interintra_compound, enable_masked_compound, enable_warped_motion, enable_dual_filter
    bool enable_order_hint = b.f(1);
    if (enable_order_hint) b.f(2);  // enable_jnt_comp, enable_ref_frame_mvs
    uint32_t force_screen_content_tools = 2;  // SELECT_SCREEN_CONTENT_TOOLS
    if (!b.f(1)) force_screen_content_tools = b.f(1);  // seq_choose_screen_content_tools
    if (force_screen_content_tools > 0) {
      if (!b.f(1)) b.f(1);  // seq_choose_integer_mv, else seq_force_integer_mv
    }
    if (enable_order_hint) b.f(3);  // order_hint_bits_minus_1
  }
  b.f(3);  // enable_superres, enable_cdef, enable_restoration
  // color_config (5.5.2)
  bool high_bitdepth = b.f(1);
  if (h.seq_profile == 2 && high_bitdepth) {
    h.bit_depth = b.f(1) ? 12 : 10;
  } else {
    h.bit_depth = high_bitdepth ? 10 : 8;
  }
  h.mono_chrome = h.seq_profile == 1 ? false : b.f(1);
  if (b.f(1)) {  // color_description_present_flag
    h.color_primaries = uint8_t(b.f(8));
    h.transfer_characteristics = uint8_t(b.f(8));
    h.matrix_coefficients = uint8_t(b.f(8));
  }
  constexpr uint8_t kCpBt709 = 1, kTcSrgb = 13, kMcIdentity = 0;
  if (h.mono_chrome) {
    h.full_range = b.f(1);
    h.subsampling_x = h.subsampling_y = true;
  } else if (h.color_primaries == kCpBt709 && h.transfer_characteristics == kTcSrgb &&
             h.matrix_coefficients == kMcIdentity) {
    h.full_range = true;
    h.subsampling_x = h.subsampling_y = false;
  } else {
    h.full_range = b.f(1);
    if (h.seq_profile == 0) {
      h.subsampling_x = h.subsampling_y = true;
    } else if (h.seq_profile == 1) {
      h.subsampling_x = h.subsampling_y = false;
    } else if (h.bit_depth == 12) {
      h.subsampling_x = b.f(1);
      h.subsampling_y = h.subsampling_x ? bool(b.f(1)) : false;
    } else {
      h.subsampling_x = true;
      h.subsampling_y = false;
    }
    if (h.subsampling_x && h.subsampling_y) h.chroma_sample_position = uint8_t(b.f(2));
  }
  if (!b.ok() || h.seq_profile > 2) return false;
  out = h;
  return true;
}

bool parse_av1_sequence_header_size(core::ByteView obu_payload, uint32_t& width, uint32_t& height) {
  Av1SequenceHeader h;
  if (!parse_av1_sequence_header(obu_payload, h)) return false;
  width = h.max_width;
  height = h.max_height;
  return true;
}

core::Result<core::Slice> build_av1_codec_config(core::ByteView data) {
  std::vector<Obu> obus;
  if (!split_obus(data, obus)) return core::Status::errorf("av1C: {} bytes that are not AV1 OBUs", data.size());
  for (const Obu& o : obus) {
    if (o.type != kObuSequenceHeader) continue;
    Av1SequenceHeader h;
    if (!parse_av1_sequence_header(o.payload, h)) {
      return core::Status::error("av1C: malformed sequence header OBU");
    }
    core::ByteWriter w(16 + o.size);
    w.u8(0x81);  // marker, version 1
    w.u8(uint8_t(h.seq_profile << 5 | (h.seq_level_idx_0 & 0x1F)));
    w.u8(uint8_t((h.seq_tier_0 ? 0x80 : 0) | (h.bit_depth > 8 ? 0x40 : 0) | (h.bit_depth == 12 ? 0x20 : 0) |
                 (h.mono_chrome ? 0x10 : 0) | (h.subsampling_x ? 0x08 : 0) | (h.subsampling_y ? 0x04 : 0) |
                 (h.chroma_sample_position & 0x03)));
    w.u8(0);  // no initial_presentation_delay
    ByteView whole = data.subspan(o.offset, o.size);
    if (whole[0] & 0x02) {
      w.bytes(whole);
    } else {  // give it a size field (AV1-ISOBMFF 2.3.4: configOBUs use obu_has_size_field = 1)
      size_t header = (whole[0] & 0x04) ? 2 : 1;
      w.u8(uint8_t(whole[0] | 0x02));
      if (header == 2) w.u8(whole[1]);
      uint64_t len = o.payload.size();
      do {
        uint8_t byte = uint8_t(len & 0x7F);
        len >>= 7;
        w.u8(uint8_t(byte | (len ? 0x80 : 0)));
      } while (len);
      w.bytes(o.payload);
    }
    return w.finish();
  }
  return core::Status::error("av1C: no sequence header OBU");
}

namespace {
bool is_sample_obu(const Obu& o) { return o.type != kObuTemporalDelimiter && o.type != kObuPadding; }
}  // namespace

core::Slice strip_av1_obus(const core::Slice& payload) {
  std::vector<Obu> obus;
  if (!split_obus(payload.view(), obus)) return payload;
  if (std::all_of(obus.begin(), obus.end(), is_sample_obu)) return payload;
  core::ByteWriter w(payload.size());
  append_av1_sample_obus(payload.view(), w);
  return w.finish();
}

bool append_av1_sample_obus(core::ByteView data, core::ByteWriter& out) {
  std::vector<Obu> obus;
  if (!split_obus(data, obus)) return false;
  for (const Obu& o : obus) {
    if (is_sample_obu(o)) out.bytes(data.subspan(o.offset, o.size));
  }
  return true;
}

}  // namespace weir::protocol
