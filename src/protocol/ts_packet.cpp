#include "protocol/ts_packet.h"

#include <array>

#include "core/byte_reader.h"

namespace weir::protocol {

using core::ByteReader;
using core::ByteView;
using core::Status;

namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i << 24;
    for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

int64_t read_timestamp(const uint8_t* p) {
  return int64_t((p[0] >> 1) & 0x07) << 30 | int64_t(p[1]) << 22 | int64_t(p[2] >> 1) << 15 |
         int64_t(p[3]) << 7 | int64_t(p[4] >> 1);
}

bool has_optional_pes_header(uint8_t stream_id) {
  switch (stream_id) {
    case 0xBC:  // program_stream_map
    case 0xBE:  // padding_stream
    case 0xBF:  // private_stream_2
    case 0xF0:  // ECM
    case 0xF1:  // EMM
    case 0xF2:  // DSMCC_stream
    case 0xF8:  // ITU-T H.222.1 type E
    case 0xFF:  // program_stream_directory
      return false;
    default:
      return true;
  }
}

void finish_section(std::vector<uint8_t>& s) {
  // section_length counts everything after the length field, CRC included.
  size_t len = s.size() - 3 + 4;
  s[1] = uint8_t((s[1] & 0xF0) | ((len >> 8) & 0x0F));
  s[2] = uint8_t(len);
  uint32_t crc = crc32_mpeg(ByteView(s.data(), s.size()));
  for (int i = 3; i >= 0; --i) s.push_back(uint8_t(crc >> (8 * i)));
}

}  // namespace

uint32_t crc32_mpeg(ByteView data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ b) & 0xFF];
  return crc;
}

core::Result<TsPacketInfo> parse_ts_packet(ByteView p) {
  if (p.size() != kTsPacketSize) return Status::errorf("ts: packet of {} bytes, need 188", p.size());
  if (p[0] != kTsSyncByte) return Status::errorf("ts: sync byte 0x{:02x}", p[0]);
  TsPacketInfo info;
  info.transport_error = p[1] & 0x80;
  info.payload_unit_start = p[1] & 0x40;
  info.pid = uint16_t((p[1] & 0x1F) << 8 | p[2]);
  info.scrambling = (p[3] >> 6) & 0x03;
  uint8_t afc = (p[3] >> 4) & 0x03;
  info.continuity_counter = p[3] & 0x0F;
  info.has_adaptation_field = afc & 0x02;
  info.has_payload = afc & 0x01;
  size_t pos = 4;
  if (info.has_adaptation_field) {
    size_t af_len = p[4];
    size_t max = info.has_payload ? 182 : 183;
    if (af_len > max) {
      return Status::errorf("ts: adaptation field length {} exceeds {} (pid {})", af_len, max, info.pid);
    }
    if (af_len > 0) {
      uint8_t flags = p[5];
      info.discontinuity = flags & 0x80;
      info.random_access = flags & 0x40;
      info.has_pcr = flags & 0x10;
      if (info.has_pcr) {
        if (af_len < 7) {
          return Status::errorf("ts: adaptation field length {} too short for a PCR (pid {})", af_len,
                                info.pid);
        }
        int64_t base = int64_t(p[6]) << 25 | int64_t(p[7]) << 17 | int64_t(p[8]) << 9 |
                       int64_t(p[9]) << 1 | int64_t(p[10] >> 7);
        int64_t ext = int64_t(p[10] & 0x01) << 8 | p[11];
        info.pcr = base * 300 + ext;
      }
    }
    info.stuffed = af_len == 0 || (af_len > (info.has_pcr ? 7u : 1u) && p[4 + af_len] == 0xFF);
    pos = 5 + af_len;
  }
  if (info.has_payload) info.payload = p.subspan(pos);
  return info;
}

size_t psi_section_size(ByteView d) {
  if (d.size() < 3) return 0;
  return 3 + (size_t(d[1] & 0x0F) << 8 | d[2]);
}

core::Result<PsiSection> parse_psi_section(ByteView s) {
  if (s.size() < 3) return Status::errorf("psi: section of {} bytes", s.size());
  size_t len = size_t(s[1] & 0x0F) << 8 | s[2];
  if (len > kTsMaxSectionLength) return Status::errorf("psi: section_length {} exceeds 1021", len);
  if (len + 3 != s.size()) {
    return Status::errorf("psi: section_length {} does not match the {} bytes given", len, s.size() - 3);
  }
  if (!(s[1] & 0x80)) return Status::errorf("psi: table 0x{:02x} is not a long-form section", s[0]);
  if (len < 9) return Status::errorf("psi: section_length {} too short for header and CRC", len);
  if (crc32_mpeg(s) != 0) return Status::errorf("psi: CRC mismatch in table 0x{:02x}", s[0]);
  PsiSection sec;
  sec.table_id = s[0];
  sec.table_id_extension = uint16_t(s[3] << 8 | s[4]);
  sec.version = (s[5] >> 1) & 0x1F;
  sec.current_next = s[5] & 0x01;
  sec.section_number = s[6];
  sec.last_section_number = s[7];
  sec.body = s.subspan(8, s.size() - 8 - 4);
  return sec;
}

core::Result<std::vector<PatProgram>> parse_pat(const PsiSection& sec) {
  if (sec.table_id != kTsTablePat) return Status::errorf("pat: table id 0x{:02x}", sec.table_id);
  if (sec.body.size() % 4 != 0) return Status::errorf("pat: body of {} bytes is not a multiple of 4", sec.body.size());
  std::vector<PatProgram> out;
  for (size_t i = 0; i < sec.body.size(); i += 4) {
    PatProgram p;
    p.program_number = uint16_t(sec.body[i] << 8 | sec.body[i + 1]);
    p.pid = uint16_t((sec.body[i + 2] & 0x1F) << 8 | sec.body[i + 3]);
    out.push_back(p);
  }
  return out;
}

std::optional<ByteView> find_descriptor(ByteView d, uint8_t tag) {
  size_t pos = 0;
  while (pos + 2 <= d.size()) {
    uint8_t t = d[pos];
    size_t len = d[pos + 1];
    if (pos + 2 + len > d.size()) return std::nullopt;
    if (t == tag) return d.subspan(pos + 2, len);
    pos += 2 + len;
  }
  return std::nullopt;
}

namespace {
uint32_t registration_of(ByteView descriptors) {
  auto reg = find_descriptor(descriptors, kTsDescriptorRegistration);
  if (!reg || reg->size() < 4) return 0;
  const ByteView& r = *reg;
  return uint32_t(r[0]) << 24 | uint32_t(r[1]) << 16 | uint32_t(r[2]) << 8 | r[3];
}
}  // namespace

core::Result<Pmt> parse_pmt(const PsiSection& sec) {
  if (sec.table_id != kTsTablePmt) return Status::errorf("pmt: table id 0x{:02x}", sec.table_id);
  ByteReader r(sec.body);
  uint16_t pcr = 0, pil = 0;
  if (!r.u16be(pcr) || !r.u16be(pil)) return Status::errorf("pmt: body of {} bytes, header needs 4", sec.body.size());
  Pmt pmt;
  pmt.program_number = sec.table_id_extension;
  pmt.pcr_pid = pcr & 0x1FFF;
  size_t info_len = pil & 0x0FFF;
  ByteView pdesc;
  if (!r.bytes(info_len, pdesc)) {
    return Status::errorf("pmt: program_info_length {} exceeds the {} bytes left", info_len, r.remaining());
  }
  pmt.registration = registration_of(pdesc);
  while (!r.empty()) {
    uint8_t type = 0;
    uint16_t pid = 0, esl = 0;
    if (!r.u8(type) || !r.u16be(pid) || !r.u16be(esl)) {
      return Status::errorf("pmt: {} trailing bytes, stream entry needs 5", r.remaining());
    }
    PmtStream s;
    s.stream_type = type;
    s.pid = pid & 0x1FFF;
    size_t es_len = esl & 0x0FFF;
    if (!r.bytes(es_len, s.descriptors)) {
      return Status::errorf("pmt: ES_info_length {} of pid {} exceeds the {} bytes left", es_len, s.pid,
                            r.remaining());
    }
    s.registration = registration_of(s.descriptors);
    pmt.streams.push_back(s);
  }
  return pmt;
}

std::vector<uint8_t> build_pat_section(uint16_t tsid, uint16_t program_number, uint16_t pmt_pid,
                                       uint8_t version) {
  std::vector<uint8_t> s = {kTsTablePat,
                            0xB0,  // section_syntax_indicator, '0', reserved; length patched
                            0x00,
                            uint8_t(tsid >> 8),
                            uint8_t(tsid),
                            uint8_t(0xC1 | (version & 0x1F) << 1),  // reserved, version, current
                            0x00,
                            0x00,
                            uint8_t(program_number >> 8),
                            uint8_t(program_number),
                            uint8_t(0xE0 | (pmt_pid >> 8 & 0x1F)),
                            uint8_t(pmt_pid)};
  finish_section(s);
  return s;
}

std::vector<uint8_t> build_pmt_section(uint16_t program_number, uint16_t pcr_pid,
                                       const std::vector<PmtStreamSpec>& streams, uint8_t version) {
  std::vector<uint8_t> s = {kTsTablePmt,
                            0xB0,
                            0x00,
                            uint8_t(program_number >> 8),
                            uint8_t(program_number),
                            uint8_t(0xC1 | (version & 0x1F) << 1),
                            0x00,
                            0x00,
                            uint8_t(0xE0 | (pcr_pid >> 8 & 0x1F)),
                            uint8_t(pcr_pid),
                            0xF0,  // reserved, program_info_length 0
                            0x00};
  for (const PmtStreamSpec& st : streams) {
    s.push_back(st.stream_type);
    s.push_back(uint8_t(0xE0 | (st.pid >> 8 & 0x1F)));
    s.push_back(uint8_t(st.pid));
    size_t n = st.descriptors.size() & 0x0FFF;
    s.push_back(uint8_t(0xF0 | n >> 8));
    s.push_back(uint8_t(n));
    s.insert(s.end(), st.descriptors.begin(), st.descriptors.begin() + ptrdiff_t(n));
  }
  finish_section(s);
  return s;
}

size_t pes_header_needed(ByteView d) {
  if (d.size() >= 4 && !has_optional_pes_header(d[3])) return 6;
  if (d.size() < 9) return 9;
  return 9 + size_t(d[8]);
}

core::Result<PesHeader> parse_pes_header(ByteView d) {
  size_t need = pes_header_needed(d);
  if (d.size() < need) return Status::errorf("pes: header incomplete ({} of {} bytes)", d.size(), need);
  if (d[0] != 0 || d[1] != 0 || d[2] != 1) return Status::error("pes: no start code prefix");
  PesHeader h;
  h.stream_id = d[3];
  h.packet_length = uint16_t(d[4] << 8 | d[5]);
  if (!has_optional_pes_header(h.stream_id)) {
    h.header_size = 6;
    return h;
  }
  if ((d[6] & 0xC0) != 0x80) return Status::errorf("pes: marker bits 0x{:x} are not '10'", d[6] >> 6);
  h.data_alignment = d[6] & 0x04;
  uint8_t ptsdts = d[7] >> 6;
  size_t hdl = d[8];
  h.header_size = 9 + hdl;
  if (h.packet_length != 0 && size_t(h.packet_length) + 6 < h.header_size) {
    return Status::errorf("pes: PES_packet_length {} shorter than its {}-byte header", h.packet_length,
                          h.header_size);
  }
  if (ptsdts == 1) return Status::error("pes: PTS_DTS_flags '01' is forbidden");
  if (ptsdts & 0x02) {
    size_t need_ts = ptsdts == 3 ? 10 : 5;
    if (hdl < need_ts) {
      return Status::errorf("pes: PES_header_data_length {} too short for {} timestamp bytes", hdl, need_ts);
    }
    h.has_pts = true;
    h.pts = read_timestamp(&d[9]);
    h.dts = h.pts;
    if (ptsdts == 3) {
      h.has_dts = true;
      h.dts = read_timestamp(&d[14]);
    }
  }
  return h;
}

void write_pes_timestamp(uint8_t* p, uint8_t prefix, int64_t ts) {
  uint64_t t = uint64_t(ts) & uint64_t(kTsTimestampModulo - 1);
  p[0] = uint8_t(prefix << 4 | ((t >> 30) & 0x07) << 1 | 1);
  p[1] = uint8_t(t >> 22);
  p[2] = uint8_t(((t >> 15) & 0x7F) << 1 | 1);
  p[3] = uint8_t(t >> 7);
  p[4] = uint8_t((t & 0x7F) << 1 | 1);
}

size_t pes_header_size(int64_t pts, int64_t dts) { return pts == dts ? 14 : 19; }

void write_pes_header(core::ByteWriter& out, uint8_t stream_id, int64_t pts, int64_t dts,
                      size_t payload_size, bool bounded, bool data_alignment) {
  bool with_dts = pts != dts;
  size_t hdl = with_dts ? 10 : 5;
  size_t len = 3 + hdl + payload_size;
  if (!bounded || len > 0xFFFF) len = 0;
  uint8_t* p = out.grow(9 + hdl);
  p[0] = 0;
  p[1] = 0;
  p[2] = 1;
  p[3] = stream_id;
  p[4] = uint8_t(len >> 8);
  p[5] = uint8_t(len);
  p[6] = uint8_t(0x80 | (data_alignment ? 0x04 : 0));
  p[7] = with_dts ? 0xC0 : 0x80;
  p[8] = uint8_t(hdl);
  write_pes_timestamp(p + 9, with_dts ? 0x03 : 0x02, pts);
  if (with_dts) write_pes_timestamp(p + 14, 0x01, dts);
}

}  // namespace weir::protocol
