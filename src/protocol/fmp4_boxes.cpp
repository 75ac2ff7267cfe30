#include "protocol/fmp4_boxes.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/byte_reader.h"
#include "protocol/opus_head.h"

namespace weir::protocol::fmp4 {

using core::ByteView;
using core::ByteWriter;
using core::Slice;

// ms -> ticks, rounded half up; negative times clamp to 0 (dts >= 0 is an
// input rule, see the header).
int64_t ms_to_ticks(int64_t ms, uint32_t timescale) {
  if (ms <= 0) return 0;
  __int128 n = __int128(ms) * timescale + 500;
  n /= 1000;
  if (n > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  return int64_t(n);
}

// Signed variant for presentation times (pts may precede dts by a little with
// some encoders; the composition offset is signed).
int64_t ms_to_ticks_signed(int64_t ms, uint32_t timescale) {
  if (ms >= 0) return ms_to_ticks(ms, timescale);
  return -ms_to_ticks(-ms, timescale);
}

uint32_t clamp_u32(uint64_t v) {
  return v > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                  : uint32_t(v);
}

int32_t clamp_i32(int64_t v) {
  return int32_t(std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(),
                                     std::numeric_limits<int32_t>::max()));
}

// ---- Codec strings (RFC 6381; ISO/IEC 14496-15 E.3; AV1-ISOBMFF Codecs Parameter) ----

std::string hevc_codecs(const HevcConfig& c) {
  static constexpr const char* kSpace[4] = {"", "A", "B", "C"};
  uint32_t compat = 0;
  for (int i = 0; i < 32; ++i) {
    if (c.general_profile_compatibility_flags & (1u << i)) compat |= 1u << (31 - i);
  }
  std::string s = fmt::format("hvc1.{}{}.{:X}.{}{}", kSpace[c.general_profile_space & 3],
                              c.general_profile_idc, compat, c.general_tier_flag ? 'H' : 'L',
                              c.general_level_idc);
  uint8_t bytes[6];
  for (int i = 0; i < 6; ++i) bytes[i] = uint8_t(c.general_constraint_indicator_flags >> (40 - 8 * i));
  int last = 5;
  while (last >= 0 && bytes[last] == 0) --last;
  for (int i = 0; i <= last; ++i) s += fmt::format(".{:02X}", bytes[i]);
  return s;
}

namespace {

void write_descriptor(ByteWriter& w, uint8_t tag, size_t len) {
  w.u8(tag);
  // expandable size (14496-1 8.3.3), as few 7-bit groups as needed
  int groups = len < (1u << 7) ? 1 : len < (1u << 14) ? 2 : len < (1u << 21) ? 3 : 4;
  for (int i = groups - 1; i >= 0; --i) w.u8(uint8_t(((len >> (7 * i)) & 0x7F) | (i ? 0x80 : 0)));
}

size_t descriptor_size(size_t len) {
  return 1 + (len < (1u << 7) ? 1 : len < (1u << 14) ? 2 : len < (1u << 21) ? 3 : 4) + len;
}

}  // namespace

// esds body (ISO/IEC 14496-14 5.6): ES_Descriptor { DecoderConfigDescriptor {
// DecoderSpecificInfo = AudioSpecificConfig }, SLConfigDescriptor }. MPEG-1/2
// audio (oti 0x6B/0x69) has no DecoderSpecificInfo (`asc` empty).
Slice build_esds(uint32_t track_id, uint8_t oti, ByteView asc) {
  ByteWriter w(64 + asc.size());
  w.u32be(0);  // version 0, flags 0
  size_t dsi = asc.empty() ? 0 : descriptor_size(asc.size());
  size_t dcd = descriptor_size(13 + dsi);
  size_t sl = descriptor_size(1);
  write_descriptor(w, 0x03, 3 + dcd + sl);
  w.u16be(uint16_t(track_id));  // ES_ID
  w.u8(0);                      // no dependence, URL or OCR stream
  write_descriptor(w, 0x04, 13 + dsi);
  w.u8(oti);     // objectTypeIndication (14496-1 Table 5)
  w.u8(0x15);    // streamType 5 (audio) << 2 | upStream 0 | reserved 1
  w.u24be(0);    // bufferSizeDB
  w.u32be(0);    // maxBitrate
  w.u32be(0);    // avgBitrate
  if (!asc.empty()) {
    write_descriptor(w, 0x05, asc.size());
    w.bytes(asc);
  }
  write_descriptor(w, 0x06, 1);
  w.u8(0x02);  // predefined: MP4
  return w.finish();
}

// dOps body (Opus in ISOBMFF 4.3.2) from an OpusHead (RFC 7845 5.1).
core::Result<Slice> build_dops(ByteView head_bytes, uint16_t& channels) {
  auto head = parse_opus_head(head_bytes);
  if (!head) return head.status();
  const OpusHead& h = head.value();
  ByteWriter w(32);
  w.u8(0);  // Version
  w.u8(h.channels);
  w.u16be(h.pre_skip);
  w.u32be(h.input_sample_rate);
  w.u16be(uint16_t(h.output_gain));
  w.u8(h.mapping_family);
  if (h.mapping_family != 0) {
    w.u8(h.stream_count);
    w.u8(h.coupled_count);
    w.bytes(ByteView(h.mapping.data(), h.mapping.size()));
  }
  channels = h.channels;
  return w.finish();
}

}  // namespace weir::protocol::fmp4
