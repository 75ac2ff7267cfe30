#include "protocol/codec_config.h"

#include <algorithm>

#include "core/byte_reader.h"
#include "protocol/bit_io.h"

namespace weir::protocol {

using core::ByteReader;
using core::ByteView;
using core::Slice;
using core::Status;

namespace {

constexpr uint32_t kAacFrequencies[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                          22050, 16000, 12000, 11025, 8000,  7350};

// 14496-15 lists 100/110/122/144; FFmpeg also writes (and x264 streams carry)
// the extension for High 4:4:4 Predictive (244).
bool is_avc_high_profile_with_ext(uint8_t profile) {
  return profile == 100 || profile == 110 || profile == 122 || profile == 144 || profile == 244;
}

// Reads `count` u16-length-prefixed NAL units into slices of `rec`.
Status read_nal_list(ByteReader& r, const Slice& rec, size_t count, const char* what,
                     const char* kind, std::vector<Slice>& out) {
  for (size_t i = 0; i < count; ++i) {
    uint16_t len;
    if (!r.u16be(len)) return Status::errorf("{}: truncated {} {} length", what, kind, i);
    if (len > r.remaining()) {
      return Status::errorf("{}: {} {} length {} exceeds the {} bytes left", what, kind, i, len,
                            r.remaining());
    }
    out.push_back(rec.sub(r.position(), len));
    r.skip(len);
  }
  return Status::ok();
}

Status check_nal_length_size(int n) {
  if (n < 1 || n > 4) return Status::errorf("NAL length size {} is not 1..4", n);
  return Status::ok();
}

}  // namespace

// ---- AVC ---------------------------------------------------------------

core::Result<AvcConfig> parse_avc_decoder_config(const Slice& rec) {
  const char* what = "avcC";
  ByteReader r(rec.view());
  if (rec.size() < 7) return Status::errorf("avcC: {} bytes, needs at least 7", rec.size());
  AvcConfig c;
  uint8_t b = 0, n = 0;
  r.u8(c.version);
  if (c.version != 1) return Status::errorf("avcC: configurationVersion {}, want 1", c.version);
  r.u8(c.profile);
  r.u8(c.profile_compat);
  r.u8(c.level);
  r.u8(b);
  c.nal_length_size = uint8_t((b & 0x03) + 1);
  r.u8(n);
  if (Status s = read_nal_list(r, rec, n & 0x1F, what, "SPS", c.sps); !s) return s;
  if (!r.u8(n)) return Status::error("avcC: truncated before PPS count");
  if (Status s = read_nal_list(r, rec, n, what, "PPS", c.pps); !s) return s;
  // The high-profile extension is optional in practice (many encoders omit
  // it); a broken one is ignored, as FFmpeg does.
  if (is_avc_high_profile_with_ext(c.profile) && r.remaining() >= 4) {
    ByteReader e = r;
    uint8_t chroma = 0, bdl = 0, bdc = 0, next = 0;
    e.u8(chroma);
    e.u8(bdl);
    e.u8(bdc);
    e.u8(next);
    std::vector<Slice> ext;
    if (read_nal_list(e, rec, next, what, "SPS ext", ext).is_ok()) {
      c.has_ext = true;
      c.chroma_format = chroma & 0x03;
      c.bit_depth_luma = uint8_t((bdl & 0x07) + 8);
      c.bit_depth_chroma = uint8_t((bdc & 0x07) + 8);
      c.sps_ext = std::move(ext);
    }
  }
  return c;
}

core::Result<AvcConfig> parse_avc_decoder_config(ByteView record) {
  return parse_avc_decoder_config(Slice::copy_of(record));
}

core::Result<Slice> build_avc_decoder_config(const std::vector<ByteView>& sps,
                                             const std::vector<ByteView>& pps,
                                             uint8_t nal_length_size) {
  if (nal_length_size != 1 && nal_length_size != 2 && nal_length_size != 4) {
    return Status::errorf("avcC: NAL length size {} is not 1, 2 or 4", nal_length_size);
  }
  if (sps.empty() || sps.size() > 31) return Status::errorf("avcC: {} SPS (need 1..31)", sps.size());
  if (pps.empty() || pps.size() > 255) return Status::errorf("avcC: {} PPS (need 1..255)", pps.size());
  for (size_t i = 0; i < sps.size(); ++i) {
    if (sps[i].size() < 4 || sps[i].size() > 0xFFFF || h264_nal_type(sps[i][0]) != 7) {
      return Status::errorf("avcC: SPS {} is not an SPS NAL unit of 4..65535 bytes", i);
    }
  }
  for (size_t i = 0; i < pps.size(); ++i) {
    if (pps[i].empty() || pps[i].size() > 0xFFFF || h264_nal_type(pps[i][0]) != 8) {
      return Status::errorf("avcC: PPS {} is not a PPS NAL unit of 1..65535 bytes", i);
    }
  }
  auto info = parse_h264_sps(sps[0]);
  if (!info) return Status::errorf("avcC: {}", info.error());
  core::ByteWriter w(64);
  w.u8(1);
  w.u8(sps[0][1]);
  w.u8(sps[0][2]);
  w.u8(sps[0][3]);
  w.u8(uint8_t(0xFC | (nal_length_size - 1)));
  w.u8(uint8_t(0xE0 | sps.size()));
  for (ByteView s : sps) {
    w.u16be(uint16_t(s.size()));
    w.bytes(s);
  }
  w.u8(uint8_t(pps.size()));
  for (ByteView p : pps) {
    w.u16be(uint16_t(p.size()));
    w.bytes(p);
  }
  if (is_avc_high_profile_with_ext(sps[0][1])) {
    w.u8(uint8_t(0xFC | info->chroma_format_idc));
    w.u8(uint8_t(0xF8 | (info->bit_depth_luma - 8)));
    w.u8(uint8_t(0xF8 | (info->bit_depth_chroma - 8)));
    w.u8(0);
  }
  return w.finish();
}

// ---- HEVC --------------------------------------------------------------

std::vector<Slice> HevcConfig::nalus_of_type(uint8_t nal_type) const {
  std::vector<Slice> out;
  for (const HevcNalArray& a : arrays) {
    if (a.nal_type != nal_type) continue;
    out.insert(out.end(), a.nalus.begin(), a.nalus.end());
  }
  return out;
}

core::Result<HevcConfig> parse_hevc_decoder_config(const Slice& rec) {
  const char* what = "hvcC";
  if (rec.size() < 23) return Status::errorf("hvcC: {} bytes, needs at least 23", rec.size());
  ByteView v = rec.view();
  HevcConfig c;
  c.version = v[0];
  if (c.version > 1) return Status::errorf("hvcC: configurationVersion {}, want 1", c.version);
  c.general_profile_space = v[1] >> 6;
  c.general_tier_flag = (v[1] >> 5) & 1;
  c.general_profile_idc = v[1] & 0x1F;
  c.general_profile_compatibility_flags =
      uint32_t(v[2]) << 24 | uint32_t(v[3]) << 16 | uint32_t(v[4]) << 8 | v[5];
  c.general_constraint_indicator_flags = 0;
  for (int i = 6; i < 12; ++i) c.general_constraint_indicator_flags = c.general_constraint_indicator_flags << 8 | v[i];
  c.general_level_idc = v[12];
  c.min_spatial_segmentation_idc = uint16_t((v[13] & 0x0F) << 8 | v[14]);
  c.parallelism_type = v[15] & 0x03;
  c.chroma_format_idc = v[16] & 0x03;
  c.bit_depth_luma = uint8_t((v[17] & 0x07) + 8);
  c.bit_depth_chroma = uint8_t((v[18] & 0x07) + 8);
  c.avg_frame_rate = uint16_t(v[19] << 8 | v[20]);
  c.constant_frame_rate = v[21] >> 6;
  c.num_temporal_layers = (v[21] >> 3) & 0x07;
  c.temporal_id_nested = (v[21] >> 2) & 1;
  c.nal_length_size = uint8_t((v[21] & 0x03) + 1);
  uint8_t num_arrays = v[22];
  ByteReader r(v);
  r.skip(23);
  for (size_t i = 0; i < num_arrays; ++i) {
    uint8_t b;
    uint16_t count;
    if (!r.u8(b) || !r.u16be(count)) return Status::errorf("hvcC: truncated array {} header", i);
    HevcNalArray a;
    a.array_completeness = b >> 7;
    a.nal_type = b & 0x3F;
    if (Status s = read_nal_list(r, rec, count, what, "NAL unit", a.nalus); !s) return s;
    c.arrays.push_back(std::move(a));
  }
  return c;
}

core::Result<HevcConfig> parse_hevc_decoder_config(ByteView record) {
  return parse_hevc_decoder_config(Slice::copy_of(record));
}

core::Result<Slice> build_hevc_decoder_config(const std::vector<ByteView>& vps,
                                              const std::vector<ByteView>& sps,
                                              const std::vector<ByteView>& pps,
                                              uint8_t nal_length_size) {
  if (nal_length_size != 1 && nal_length_size != 2 && nal_length_size != 4) {
    return Status::errorf("hvcC: NAL length size {} is not 1, 2 or 4", nal_length_size);
  }
  struct Group {
    const std::vector<ByteView>* nalus;
    uint8_t type;
    const char* name;
  };
  const Group groups[3] = {{&vps, kHevcNalVps, "VPS"}, {&sps, kHevcNalSps, "SPS"},
                           {&pps, kHevcNalPps, "PPS"}};
  for (const Group& g : groups) {
    if (g.nalus->empty() || g.nalus->size() > 0xFFFF) {
      return Status::errorf("hvcC: {} {} (need at least one)", g.nalus->size(), g.name);
    }
    for (size_t i = 0; i < g.nalus->size(); ++i) {
      ByteView n = (*g.nalus)[i];
      if (n.size() < 3 || n.size() > 0xFFFF || hevc_nal_type(n[0]) != g.type) {
        return Status::errorf("hvcC: {} {} is not a {} NAL unit of 3..65535 bytes", g.name, i, g.name);
      }
    }
  }
  auto info = parse_hevc_sps(sps[0]);
  if (!info) return Status::errorf("hvcC: {}", info.error());
  const HevcSpsInfo& s = info.value();
  core::ByteWriter w(128);
  w.u8(1);
  w.u8(uint8_t(s.general_profile_space << 6 | (s.general_tier_flag ? 0x20 : 0) |
               (s.general_profile_idc & 0x1F)));
  w.u32be(s.general_profile_compatibility_flags);
  w.u16be(uint16_t(s.general_constraint_indicator_flags >> 32));
  w.u32be(uint32_t(s.general_constraint_indicator_flags));
  w.u8(s.general_level_idc);
  w.u16be(0xF000);  // reserved '1111' + min_spatial_segmentation_idc 0
  w.u8(0xFC);       // reserved + parallelismType 0 (unknown)
  w.u8(uint8_t(0xFC | s.chroma_format_idc));
  w.u8(uint8_t(0xF8 | (s.bit_depth_luma - 8)));
  w.u8(uint8_t(0xF8 | (s.bit_depth_chroma - 8)));
  w.u16be(0);  // avgFrameRate unknown
  w.u8(uint8_t((s.max_sub_layers & 0x07) << 3 | (s.temporal_id_nesting ? 0x04 : 0) |
               (nal_length_size - 1)));
  w.u8(3);
  for (const Group& g : groups) {
    w.u8(uint8_t(0x80 | g.type));  // array_completeness = 1
    w.u16be(uint16_t(g.nalus->size()));
    for (ByteView n : *g.nalus) {
      w.u16be(uint16_t(n.size()));
      w.bytes(n);
    }
  }
  return w.finish();
}

// ---- AV1 ---------------------------------------------------------------

core::Result<Av1Config> parse_av1_codec_config(const Slice& rec) {
  if (rec.size() < 4) return Status::errorf("av1C: {} bytes, needs at least 4", rec.size());
  ByteView v = rec.view();
  if (!(v[0] & 0x80)) return Status::error("av1C: marker bit not set");
  Av1Config c;
  c.version = v[0] & 0x7F;
  if (c.version != 1) return Status::errorf("av1C: version {}, want 1", c.version);
  c.seq_profile = v[1] >> 5;
  c.seq_level_idx_0 = v[1] & 0x1F;
  c.seq_tier_0 = v[2] & 0x80;
  c.high_bitdepth = v[2] & 0x40;
  c.twelve_bit = v[2] & 0x20;
  c.monochrome = v[2] & 0x10;
  c.chroma_subsampling_x = v[2] & 0x08;
  c.chroma_subsampling_y = v[2] & 0x04;
  c.chroma_sample_position = v[2] & 0x03;
  c.initial_presentation_delay_present = v[3] & 0x10;
  c.initial_presentation_delay_minus_one = c.initial_presentation_delay_present ? (v[3] & 0x0F) : 0;
  c.config_obus = rec.sub(4);
  return c;
}

core::Result<Av1Config> parse_av1_codec_config(ByteView record) {
  return parse_av1_codec_config(Slice::copy_of(record));
}

// ---- AAC ---------------------------------------------------------------

uint32_t aac_sampling_frequency(uint8_t index) {
  return index < 13 ? kAacFrequencies[index] : 0;
}

uint8_t aac_sampling_frequency_index(uint32_t hz) {
  for (uint8_t i = 0; i < 13; ++i) {
    if (kAacFrequencies[i] == hz) return i;
  }
  return 15;
}

uint16_t aac_channel_count(uint8_t channel_configuration) {
  switch (channel_configuration) {
    case 0: return 2;  // program config element; the decoder reads it from the ASC
    case 7: return 8;
    case 11: return 7;
    case 12:
    case 14: return 8;
    case 13: return 24;
    default: return channel_configuration <= 6 ? channel_configuration : 2;
  }
}

namespace {

bool read_aot(BitReader& br, uint8_t& aot) {
  uint32_t v;
  if (!br.bits(5, v)) return false;
  if (v == 31) {
    uint32_t ext;
    if (!br.bits(6, ext)) return false;
    v = 32 + ext;
  }
  aot = uint8_t(v);
  return true;
}

Status read_frequency(BitReader& br, uint8_t& index, uint32_t& hz) {
  uint32_t v;
  if (!br.bits(4, v)) return Status::error("AudioSpecificConfig: truncated sampling frequency index");
  index = uint8_t(v);
  if (index == 15) {
    if (!br.bits(24, hz)) return Status::error("AudioSpecificConfig: truncated explicit sampling frequency");
    if (hz == 0) return Status::error("AudioSpecificConfig: explicit sampling frequency 0");
    return Status::ok();
  }
  if (index >= 13) return Status::errorf("AudioSpecificConfig: reserved sampling frequency index {}", index);
  hz = kAacFrequencies[index];
  return Status::ok();
}

}  // namespace

core::Result<AacConfig> parse_aac_audio_specific_config(ByteView asc) {
  BitReader br(asc);
  AacConfig c;
  if (!read_aot(br, c.object_type)) {
    return Status::errorf("AudioSpecificConfig: {} bytes, truncated object type", asc.size());
  }
  if (c.object_type == 0) return Status::error("AudioSpecificConfig: object type 0 (null)");
  if (Status s = read_frequency(br, c.sampling_frequency_index, c.sampling_frequency); !s) return s;
  uint32_t ch;
  if (!br.bits(4, ch)) return Status::error("AudioSpecificConfig: truncated channel configuration");
  c.channel_configuration = uint8_t(ch);
  if (c.object_type == 5 || c.object_type == 29) {
    // Explicit hierarchical SBR/PS signalling: extension rate, then the core AOT.
    c.sbr = true;
    c.ps = c.object_type == 29;
    uint8_t ext_index;
    if (Status s = read_frequency(br, ext_index, c.extension_sampling_frequency); !s) return s;
    if (!read_aot(br, c.object_type)) {
      return Status::error("AudioSpecificConfig: truncated core object type after SBR");
    }
    if (c.object_type == 0) return Status::error("AudioSpecificConfig: core object type 0 (null)");
  }
  return c;
}

core::Result<Slice> build_aac_audio_specific_config(const AacConfig& c) {
  auto put_aot = [](BitWriter& bw, uint8_t aot) {
    if (aot >= 31) {
      bw.put(31, 5);
      bw.put(aot - 32u, 6);
    } else {
      bw.put(aot, 5);
    }
  };
  auto put_freq = [](BitWriter& bw, uint8_t index, uint32_t hz) {
    if (index == 15) {
      bw.put(15, 4);
      bw.put(hz, 24);
    } else {
      bw.put(index, 4);
    }
  };
  if (c.object_type == 0 || c.object_type > 95) {
    return Status::errorf("AudioSpecificConfig: object type {} cannot be written", c.object_type);
  }
  if (c.sampling_frequency_index >= 13 && c.sampling_frequency_index != 15) {
    return Status::errorf("AudioSpecificConfig: reserved sampling frequency index {}",
                          c.sampling_frequency_index);
  }
  if (c.sampling_frequency_index == 15 && (c.sampling_frequency == 0 || c.sampling_frequency > 0xFFFFFF)) {
    return Status::errorf("AudioSpecificConfig: explicit frequency {} does not fit 24 bits",
                          c.sampling_frequency);
  }
  if (c.channel_configuration > 15) {
    return Status::errorf("AudioSpecificConfig: channel configuration {}", c.channel_configuration);
  }
  BitWriter bw;
  if (c.sbr) {
    put_aot(bw, c.ps ? 29 : 5);
    put_freq(bw, c.sampling_frequency_index, c.sampling_frequency);
    bw.put(c.channel_configuration, 4);
    uint8_t ext = aac_sampling_frequency_index(c.extension_sampling_frequency);
    put_freq(bw, ext, c.extension_sampling_frequency);
    put_aot(bw, c.object_type);
  } else {
    put_aot(bw, c.object_type);
    put_freq(bw, c.sampling_frequency_index, c.sampling_frequency);
    bw.put(c.channel_configuration, 4);
  }
  bw.put(0, 3);  // GASpecificConfig: frameLengthFlag, dependsOnCoreCoder, extensionFlag
  std::vector<uint8_t> bytes = bw.finish();
  return Slice::copy_of(ByteView(bytes.data(), bytes.size()));
}

core::Result<AdtsHeader> parse_adts_header(ByteView d) {
  if (d.size() < 7) return Status::errorf("ADTS: {} bytes, header needs 7", d.size());
  if (d[0] != 0xFF || (d[1] & 0xF0) != 0xF0) return Status::error("ADTS: no syncword");
  if (d[1] & 0x06) return Status::errorf("ADTS: layer {} is not 0", (d[1] >> 1) & 0x03);
  AdtsHeader h;
  h.mpeg2 = d[1] & 0x08;
  h.protection_absent = d[1] & 0x01;
  h.header_size = h.protection_absent ? 7 : 9;
  if (d.size() < h.header_size) return Status::errorf("ADTS: {} bytes, header with CRC needs 9", d.size());
  h.config.object_type = uint8_t((d[2] >> 6) + 1);
  h.config.sampling_frequency_index = (d[2] >> 2) & 0x0F;
  if (h.config.sampling_frequency_index >= 13) {
    return Status::errorf("ADTS: reserved sampling frequency index {}", h.config.sampling_frequency_index);
  }
  h.config.sampling_frequency = kAacFrequencies[h.config.sampling_frequency_index];
  h.config.channel_configuration = uint8_t((d[2] & 0x01) << 2 | d[3] >> 6);
  h.frame_length = uint16_t((d[3] & 0x03) << 11 | d[4] << 3 | d[5] >> 5);
  h.raw_data_blocks = uint8_t((d[6] & 0x03) + 1);
  if (h.frame_length < h.header_size) {
    return Status::errorf("ADTS: frame length {} is shorter than the {}-byte header", h.frame_length,
                          h.header_size);
  }
  return h;
}

core::Result<std::array<uint8_t, 7>> build_adts_header(const AacConfig& c, size_t payload_size) {
  if (c.object_type < 1 || c.object_type > 4) {
    return Status::errorf("ADTS: object type {} cannot be expressed (1..4 only)", c.object_type);
  }
  if (c.sampling_frequency_index >= 13) {
    return Status::errorf("ADTS: sampling frequency index {} cannot be expressed", c.sampling_frequency_index);
  }
  if (c.channel_configuration > 7) {
    return Status::errorf("ADTS: channel configuration {} cannot be expressed", c.channel_configuration);
  }
  size_t len = payload_size + 7;
  if (len > 0x1FFF) return Status::errorf("ADTS: frame of {} bytes exceeds 8191", len);
  std::array<uint8_t, 7> h{};
  h[0] = 0xFF;
  h[1] = 0xF1;  // MPEG-4, layer 0, no CRC
  h[2] = uint8_t((c.object_type - 1) << 6 | c.sampling_frequency_index << 2 |
                 (c.channel_configuration >> 2));
  h[3] = uint8_t((c.channel_configuration & 0x03) << 6 | (len >> 11));
  h[4] = uint8_t(len >> 3);
  h[5] = uint8_t((len & 0x07) << 5 | 0x1F);  // buffer fullness 0x7FF (VBR)
  h[6] = 0xFC;                               // fullness low bits, one raw data block
  return h;
}

// ---- SPS ---------------------------------------------------------------

std::vector<uint8_t> nal_to_rbsp(ByteView nal) {
  std::vector<uint8_t> out;
  out.reserve(nal.size());
  int zeros = 0;
  for (uint8_t b : nal) {
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out.push_back(b);
  }
  return out;
}

namespace {

#define WEIR_SPS_READ(expr, field)                                          \
  do {                                                                      \
    if (!(expr)) return Status::errorf("{}: truncated at {}", what, field); \
  } while (0)

Status skip_scaling_list(BitReader& br, int size, const char* what) {
  int32_t last = 8, next = 8;
  for (int j = 0; j < size; ++j) {
    if (next != 0) {
      int32_t delta;
      WEIR_SPS_READ(br.se(delta), "scaling list");
      if (delta < -128 || delta > 127) return Status::errorf("{}: scaling list delta {}", what, delta);
      next = (last + delta + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
  return Status::ok();
}

bool h264_profile_has_chroma_info(uint8_t p) {
  switch (p) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86:
    case 118: case 128: case 138: case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

}  // namespace

core::Result<H264SpsInfo> parse_h264_sps(ByteView nal) {
  const char* what = "H.264 SPS";
  if (nal.empty()) return Status::error("H.264 SPS: empty NAL unit");
  if (h264_nal_type(nal[0]) != 7) {
    return Status::errorf("H.264 SPS: NAL type {} is not 7", h264_nal_type(nal[0]));
  }
  std::vector<uint8_t> rbsp = nal_to_rbsp(nal);
  BitReader br(ByteView(rbsp.data(), rbsp.size()));
  H264SpsInfo s;
  uint32_t v;
  br.skip(8);
  WEIR_SPS_READ(br.bits(8, v), "profile_idc");
  s.profile_idc = uint8_t(v);
  WEIR_SPS_READ(br.bits(8, v), "constraint flags");
  s.constraint_flags = uint8_t(v);
  WEIR_SPS_READ(br.bits(8, v), "level_idc");
  s.level_idc = uint8_t(v);
  WEIR_SPS_READ(br.ue(s.sps_id), "seq_parameter_set_id");
  if (s.sps_id > 31) return Status::errorf("H.264 SPS: seq_parameter_set_id {} > 31", s.sps_id);
  bool separate_colour_plane = false;
  if (h264_profile_has_chroma_info(s.profile_idc)) {
    WEIR_SPS_READ(br.ue(v), "chroma_format_idc");
    if (v > 3) return Status::errorf("H.264 SPS: chroma_format_idc {}", v);
    s.chroma_format_idc = uint8_t(v);
    if (s.chroma_format_idc == 3) WEIR_SPS_READ(br.flag(separate_colour_plane), "separate_colour_plane_flag");
    WEIR_SPS_READ(br.ue(v), "bit_depth_luma");
    if (v > 6) return Status::errorf("H.264 SPS: bit_depth_luma_minus8 {}", v);
    s.bit_depth_luma = uint8_t(v + 8);
    WEIR_SPS_READ(br.ue(v), "bit_depth_chroma");
    if (v > 6) return Status::errorf("H.264 SPS: bit_depth_chroma_minus8 {}", v);
    s.bit_depth_chroma = uint8_t(v + 8);
    bool f;
    WEIR_SPS_READ(br.flag(f), "qpprime_y_zero_transform_bypass_flag");
    bool scaling;
    WEIR_SPS_READ(br.flag(scaling), "seq_scaling_matrix_present_flag");
    if (scaling) {
      int lists = s.chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists; ++i) {
        bool present;
        WEIR_SPS_READ(br.flag(present), "seq_scaling_list_present_flag");
        if (present) {
          if (Status st = skip_scaling_list(br, i < 6 ? 16 : 64, what); !st) return st;
        }
      }
    }
  }
  WEIR_SPS_READ(br.ue(v), "log2_max_frame_num_minus4");
  if (v > 12) return Status::errorf("H.264 SPS: log2_max_frame_num_minus4 {}", v);
  uint32_t poc_type;
  WEIR_SPS_READ(br.ue(poc_type), "pic_order_cnt_type");
  if (poc_type == 0) {
    WEIR_SPS_READ(br.ue(v), "log2_max_pic_order_cnt_lsb_minus4");
    if (v > 12) return Status::errorf("H.264 SPS: log2_max_pic_order_cnt_lsb_minus4 {}", v);
  } else if (poc_type == 1) {
    bool f;
    int32_t sv;
    WEIR_SPS_READ(br.flag(f), "delta_pic_order_always_zero_flag");
    WEIR_SPS_READ(br.se(sv), "offset_for_non_ref_pic");
    WEIR_SPS_READ(br.se(sv), "offset_for_top_to_bottom_field");
    uint32_t n;
    WEIR_SPS_READ(br.ue(n), "num_ref_frames_in_pic_order_cnt_cycle");
    if (n > 255) return Status::errorf("H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle {}", n);
    for (uint32_t i = 0; i < n; ++i) WEIR_SPS_READ(br.se(sv), "offset_for_ref_frame");
  } else if (poc_type != 2) {
    return Status::errorf("H.264 SPS: pic_order_cnt_type {}", poc_type);
  }
  WEIR_SPS_READ(br.ue(v), "max_num_ref_frames");
  bool f;
  WEIR_SPS_READ(br.flag(f), "gaps_in_frame_num_value_allowed_flag");
  uint32_t w_mbs, h_units;
  WEIR_SPS_READ(br.ue(w_mbs), "pic_width_in_mbs_minus1");
  WEIR_SPS_READ(br.ue(h_units), "pic_height_in_map_units_minus1");
  if (w_mbs >= 4096 || h_units >= 4096) {
    return Status::errorf("H.264 SPS: picture size {}x{} macroblocks is out of range", w_mbs + 1,
                          h_units + 1);
  }
  WEIR_SPS_READ(br.flag(s.frame_mbs_only), "frame_mbs_only_flag");
  if (!s.frame_mbs_only) WEIR_SPS_READ(br.flag(f), "mb_adaptive_frame_field_flag");
  WEIR_SPS_READ(br.flag(f), "direct_8x8_inference_flag");
  bool cropping;
  WEIR_SPS_READ(br.flag(cropping), "frame_cropping_flag");
  uint32_t crop[4] = {0, 0, 0, 0};
  if (cropping) {
    for (uint32_t& c : crop) WEIR_SPS_READ(br.ue(c), "frame_crop_offset");
  }
  uint64_t width = uint64_t(w_mbs + 1) * 16;
  uint64_t height = uint64_t(2 - s.frame_mbs_only) * (h_units + 1) * 16;
  uint32_t chroma_array_type = separate_colour_plane ? 0 : s.chroma_format_idc;
  uint32_t sub_w = (chroma_array_type == 1 || chroma_array_type == 2) ? 2 : 1;
  uint32_t sub_h = chroma_array_type == 1 ? 2 : 1;
  uint64_t crop_x = chroma_array_type == 0 ? 1 : sub_w;
  uint64_t crop_y = (chroma_array_type == 0 ? 1 : sub_h) * (2 - s.frame_mbs_only);
  uint64_t cw = crop_x * (uint64_t(crop[0]) + crop[1]);
  uint64_t ch = crop_y * (uint64_t(crop[2]) + crop[3]);
  if (cw >= width || ch >= height) {
    return Status::errorf("H.264 SPS: cropping {}x{} leaves nothing of {}x{}", cw, ch, width, height);
  }
  s.width = uint32_t(width - cw);
  s.height = uint32_t(height - ch);
  return s;
}

core::Result<VideoDimensions> parse_h264_sps_dimensions(ByteView nal) {
  auto r = parse_h264_sps(nal);
  if (!r) return r.status();
  return VideoDimensions{r->width, r->height};
}

core::Result<HevcSpsInfo> parse_hevc_sps(ByteView nal) {
  const char* what = "HEVC SPS";
  if (nal.size() < 2) return Status::error("HEVC SPS: NAL unit shorter than its header");
  if (hevc_nal_type(nal[0]) != kHevcNalSps) {
    return Status::errorf("HEVC SPS: NAL type {} is not 33", hevc_nal_type(nal[0]));
  }
  std::vector<uint8_t> rbsp = nal_to_rbsp(nal);
  BitReader br(ByteView(rbsp.data(), rbsp.size()));
  HevcSpsInfo s;
  uint32_t v;
  br.skip(16);
  WEIR_SPS_READ(br.bits(4, v), "sps_video_parameter_set_id");
  WEIR_SPS_READ(br.bits(3, v), "sps_max_sub_layers_minus1");
  if (v > 6) return Status::errorf("HEVC SPS: sps_max_sub_layers_minus1 {}", v);
  uint32_t max_sub_layers_minus1 = v;
  s.max_sub_layers = uint8_t(v + 1);
  WEIR_SPS_READ(br.flag(s.temporal_id_nesting), "sps_temporal_id_nesting_flag");
  // profile_tier_level(1, sps_max_sub_layers_minus1)
  WEIR_SPS_READ(br.bits(2, v), "general_profile_space");
  s.general_profile_space = uint8_t(v);
  WEIR_SPS_READ(br.flag(s.general_tier_flag), "general_tier_flag");
  WEIR_SPS_READ(br.bits(5, v), "general_profile_idc");
  s.general_profile_idc = uint8_t(v);
  WEIR_SPS_READ(br.bits(32, s.general_profile_compatibility_flags), "general_profile_compatibility_flags");
  WEIR_SPS_READ(br.bits64(48, s.general_constraint_indicator_flags), "general constraint flags");
  WEIR_SPS_READ(br.bits(8, v), "general_level_idc");
  s.general_level_idc = uint8_t(v);
  bool profile_present[8] = {}, level_present[8] = {};
  for (uint32_t i = 0; i < max_sub_layers_minus1; ++i) {
    WEIR_SPS_READ(br.flag(profile_present[i]), "sub_layer_profile_present_flag");
    WEIR_SPS_READ(br.flag(level_present[i]), "sub_layer_level_present_flag");
  }
  if (max_sub_layers_minus1 > 0) {
    WEIR_SPS_READ(br.skip(2 * (8 - max_sub_layers_minus1)), "reserved_zero_2bits");
  }
  for (uint32_t i = 0; i < max_sub_layers_minus1; ++i) {
    if (profile_present[i]) WEIR_SPS_READ(br.skip(88), "sub_layer profile");
    if (level_present[i]) WEIR_SPS_READ(br.skip(8), "sub_layer_level_idc");
  }
  WEIR_SPS_READ(br.ue(s.sps_id), "sps_seq_parameter_set_id");
  if (s.sps_id > 15) return Status::errorf("HEVC SPS: sps_seq_parameter_set_id {} > 15", s.sps_id);
  WEIR_SPS_READ(br.ue(v), "chroma_format_idc");
  if (v > 3) return Status::errorf("HEVC SPS: chroma_format_idc {}", v);
  s.chroma_format_idc = uint8_t(v);
  bool separate_colour_plane = false;
  if (s.chroma_format_idc == 3) WEIR_SPS_READ(br.flag(separate_colour_plane), "separate_colour_plane_flag");
  uint32_t width, height;
  WEIR_SPS_READ(br.ue(width), "pic_width_in_luma_samples");
  WEIR_SPS_READ(br.ue(height), "pic_height_in_luma_samples");
  if (width == 0 || height == 0 || width > 65535 || height > 65535) {
    return Status::errorf("HEVC SPS: picture size {}x{} is out of range", width, height);
  }
  bool conformance;
  WEIR_SPS_READ(br.flag(conformance), "conformance_window_flag");
  uint32_t win[4] = {0, 0, 0, 0};
  if (conformance) {
    for (uint32_t& c : win) WEIR_SPS_READ(br.ue(c), "conf_win_offset");
  }
  WEIR_SPS_READ(br.ue(v), "bit_depth_luma_minus8");
  if (v > 8) return Status::errorf("HEVC SPS: bit_depth_luma_minus8 {}", v);
  s.bit_depth_luma = uint8_t(v + 8);
  WEIR_SPS_READ(br.ue(v), "bit_depth_chroma_minus8");
  if (v > 8) return Status::errorf("HEVC SPS: bit_depth_chroma_minus8 {}", v);
  s.bit_depth_chroma = uint8_t(v + 8);
  uint32_t chroma_array_type = separate_colour_plane ? 0 : s.chroma_format_idc;
  uint64_t sub_w = (chroma_array_type == 1 || chroma_array_type == 2) ? 2 : 1;
  uint64_t sub_h = chroma_array_type == 1 ? 2 : 1;
  uint64_t cw = sub_w * (uint64_t(win[0]) + win[1]);
  uint64_t ch = sub_h * (uint64_t(win[2]) + win[3]);
  if (cw >= width || ch >= height) {
    return Status::errorf("HEVC SPS: conformance window {}x{} leaves nothing of {}x{}", cw, ch, width,
                          height);
  }
  s.width = uint32_t(width - cw);
  s.height = uint32_t(height - ch);
  return s;
}

core::Result<VideoDimensions> parse_hevc_sps_dimensions(ByteView nal) {
  auto r = parse_hevc_sps(nal);
  if (!r) return r.status();
  return VideoDimensions{r->width, r->height};
}

#undef WEIR_SPS_READ

// ---- NAL framing ---------------------------------------------------------

std::vector<ByteView> split_annexb(ByteView data) {
  std::vector<ByteView> out;
  const uint8_t* p = data.data();
  size_t n = data.size();
  auto find_start = [&](size_t from) -> size_t {
    for (size_t i = from; i + 3 <= n;) {
      if (p[i + 2] > 1) {
        i += 3;
      } else if (p[i + 2] == 1 && p[i] == 0 && p[i + 1] == 0) {
        return i;
      } else {
        ++i;
      }
    }
    return n;
  };
  size_t sc = find_start(0);
  while (sc < n) {
    size_t start = sc + 3;
    size_t next = find_start(start);
    size_t end = next;
    while (end > start && p[end - 1] == 0) --end;
    if (end > start) out.push_back(data.subspan(start, end - start));
    sc = next;
  }
  return out;
}

Status append_length_prefixed_nal(core::ByteWriter& out, ByteView nal, int nal_length_size) {
  if (Status s = check_nal_length_size(nal_length_size); !s) return s;
  if (nal_length_size < 4 && nal.size() >= (size_t(1) << (8 * nal_length_size))) {
    return Status::errorf("NAL unit of {} bytes does not fit a {}-byte length", nal.size(),
                          nal_length_size);
  }
  if (nal.size() > UINT32_MAX) return Status::errorf("NAL unit of {} bytes is too long", nal.size());
  uint8_t* p = out.grow(size_t(nal_length_size));
  for (int i = 0; i < nal_length_size; ++i) {
    p[i] = uint8_t(nal.size() >> (8 * (nal_length_size - 1 - i)));
  }
  out.bytes(nal);
  return Status::ok();
}

Status annexb_to_length_prefixed(ByteView annexb, core::ByteWriter& out, int nal_length_size) {
  if (Status s = check_nal_length_size(nal_length_size); !s) return s;
  for (ByteView nal : split_annexb(annexb)) {
    if (Status s = append_length_prefixed_nal(out, nal, nal_length_size); !s) return s;
  }
  return Status::ok();
}

core::Result<std::vector<ByteView>> split_length_prefixed(ByteView payload, int nal_length_size) {
  if (Status s = check_nal_length_size(nal_length_size); !s) return s;
  std::vector<ByteView> out;
  size_t pos = 0;
  size_t index = 0;
  while (pos < payload.size()) {
    if (payload.size() - pos < size_t(nal_length_size)) {
      return Status::errorf("NAL {}: {} bytes left, length field needs {}", index,
                            payload.size() - pos, nal_length_size);
    }
    size_t len = 0;
    for (int i = 0; i < nal_length_size; ++i) len = len << 8 | payload[pos + i];
    pos += size_t(nal_length_size);
    if (len > payload.size() - pos) {
      return Status::errorf("NAL {}: length {} exceeds the {} bytes left", index, len,
                            payload.size() - pos);
    }
    if (len) out.push_back(payload.subspan(pos, len));
    pos += len;
    ++index;
  }
  return out;
}

Status length_prefixed_to_annexb(ByteView payload, int nal_length_size, core::ByteWriter& out) {
  auto nals = split_length_prefixed(payload, nal_length_size);
  if (!nals) return nals.status();
  for (ByteView nal : nals.value()) {
    out.u32be(1);
    out.bytes(nal);
  }
  return Status::ok();
}

// ---- Opus (RFC 6716 3.1) ----------------------------------------------------

uint32_t opus_packet_samples(ByteView p) {
  if (p.empty()) return 0;
  uint8_t toc = p[0];
  uint32_t config = toc >> 3;
  uint32_t frame;
  if (config < 12) {
    static constexpr uint32_t kSilk[4] = {480, 960, 1920, 2880};
    frame = kSilk[config & 3];
  } else if (config < 16) {
    frame = (config & 1) ? 960 : 480;
  } else {
    static constexpr uint32_t kCelt[4] = {120, 240, 480, 960};
    frame = kCelt[config & 3];
  }
  uint32_t frames;
  switch (toc & 3) {
    case 0: frames = 1; break;
    case 1:
    case 2: frames = 2; break;
    default:
      if (p.size() < 2) return 0;
      frames = p[1] & 0x3F;
      break;
  }
  uint32_t total = frame * frames;
  return total == 0 || total > 5760 ? 0 : total;  // at most 120 ms
}

}  // namespace weir::protocol
