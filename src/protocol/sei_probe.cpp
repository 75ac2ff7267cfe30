#include "protocol/sei_probe.h"

#include <time.h>

#include <cstring>

namespace weir::protocol {

namespace {
constexpr uint8_t kSeiNalHeader = 0x06;  // forbidden 0, nal_ref_idc 0, type 6
constexpr uint8_t kPayloadTypeUserDataUnregistered = 5;
constexpr uint8_t kPayloadSize = 24;  // UUID + 8-byte time
}  // namespace

uint64_t wall_clock_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

size_t write_probe_sei_nal(uint8_t out[kProbeNalMaxSize], uint64_t send_us) {
  uint8_t rbsp[2 + 16 + 8 + 1];
  rbsp[0] = kPayloadTypeUserDataUnregistered;
  rbsp[1] = kPayloadSize;
  std::memcpy(rbsp + 2, kProbeUuid, 16);
  for (int i = 0; i < 8; ++i) rbsp[18 + i] = uint8_t(send_us >> (56 - 8 * i));
  rbsp[26] = 0x80;  // rbsp_trailing_bits
  size_t n = 0;
  out[n++] = kSeiNalHeader;
  int zeros = 0;
  for (uint8_t b : rbsp) {
    if (zeros >= 2 && b <= 3) {
      out[n++] = 3;  // emulation_prevention_three_byte
      zeros = 0;
    }
    out[n++] = b;
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return n;
}

std::optional<uint64_t> parse_probe_sei(core::ByteView nal) {
  if (nal.size() < 1 + 2 + 16 + 8 || (nal[0] & 0x1F) != 6) return std::nullopt;
  // Unescape just enough bytes (the first SEI message) into a local buffer.
  uint8_t rbsp[2 + 16 + 8];
  size_t n = 0;
  int zeros = 0;
  for (size_t i = 1; i < nal.size() && n < sizeof(rbsp); ++i) {
    uint8_t b = nal[i];
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    rbsp[n++] = b;
    zeros = b == 0 ? zeros + 1 : 0;
  }
  if (n < sizeof(rbsp)) return std::nullopt;
  if (rbsp[0] != kPayloadTypeUserDataUnregistered || rbsp[1] < kPayloadSize) return std::nullopt;
  if (std::memcmp(rbsp + 2, kProbeUuid, 16) != 0) return std::nullopt;
  uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = t << 8 | rbsp[18 + i];
  return t;
}

std::optional<uint64_t> find_probe_in_avcc(core::ByteView au, int nal_length_size, int max_nals) {
  if (nal_length_size < 1 || nal_length_size > 4) return std::nullopt;
  size_t pos = 0;
  for (int i = 0; i < max_nals && pos + size_t(nal_length_size) <= au.size(); ++i) {
    size_t len = 0;
    for (int k = 0; k < nal_length_size; ++k) len = len << 8 | au[pos + size_t(k)];
    pos += size_t(nal_length_size);
    if (len > au.size() - pos) return std::nullopt;
    if (len > 0 && (au[pos] & 0x1F) == 6) {
      if (auto t = parse_probe_sei(au.subspan(pos, len))) return t;
    }
    pos += len;
  }
  return std::nullopt;
}

namespace {
// Calls f(nal_start_offset) for every NAL start after a 00 00 01 start code.
template <class F>
bool for_each_annexb_nal(core::ByteView d, F&& f) {
  for (size_t i = 0; i + 3 < d.size(); ++i) {
    if (d[i + 2] > 1) {
      i += 2;  // no start code can end before i + 3
      continue;
    }
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
      if (f(i + 3)) return true;
      i += 2;
    }
  }
  return false;
}
}  // namespace

std::optional<uint64_t> find_probe_in_annexb(core::ByteView data) {
  std::optional<uint64_t> out;
  for_each_annexb_nal(data, [&](size_t at) {
    if ((data[at] & 0x1F) != 6) return false;
    // The NAL ends at the next start code or the end of data; parse_probe_sei
    // only reads its first 27 unescaped bytes, which contain no start code.
    out = parse_probe_sei(data.subspan(at));
    return out.has_value();
  });
  return out;
}

bool annexb_has_keyframe_nal(core::ByteView data) {
  return for_each_annexb_nal(data, [&](size_t at) {
    uint8_t t = data[at] & 0x1F;
    return t == 5 || t == 7;
  });
}

}  // namespace weir::protocol
