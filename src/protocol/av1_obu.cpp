#include "protocol/av1_obu.h"

#include <algorithm>
#include <cstdint>

#include "core/byte_reader.h"
#include "protocol/bit_io.h"

namespace weir::protocol {

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

bool parse_av1_sequence_header_size(core::ByteView obu_payload, uint32_t& width, uint32_t& height) {
  SpecBits b(obu_payload);
  b.f(3);  // seq_profile
  b.f(1);  // still_picture
  bool reduced = b.f(1);
  if (reduced) {
    b.f(5);  // seq_level_idx[0]
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
      if (level > 7) b.f(1);  // seq_tier
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
  uint32_t w = b.f(wbits) + 1;
  uint32_t h = b.f(hbits) + 1;
  if (!b.ok()) return false;
  width = w;
  height = h;
  return true;
}

core::Slice strip_av1_obus(const core::Slice& payload) {
  std::vector<Obu> obus;
  if (!split_obus(payload.view(), obus)) return payload;
  bool strip = false;
  for (const Obu& o : obus) strip |= o.type == kObuTemporalDelimiter || o.type == kObuPadding;
  if (!strip) return payload;
  core::ByteWriter w(payload.size());
  for (const Obu& o : obus) {
    if (o.type == kObuTemporalDelimiter || o.type == kObuPadding) continue;
    w.bytes(payload.view().subspan(o.offset, o.size));
  }
  return w.finish();
}

}  // namespace weir::protocol
