// MPEG-2 Transport Stream building blocks shared by TsMuxer and TsDemuxer
// (ISO/IEC 13818-1): constants, the CRC-32 of PSI sections, TS packet header
// and adaptation field parsing, PAT/PMT section parsing and building, and PES
// header reading/writing.
//
// Every function is pure and may be called from any thread. Parsers never keep
// or read past the view they are given; results that point into the input are
// ByteViews borrowed from it (documented per struct).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

inline constexpr size_t kTsPacketSize = 188;
inline constexpr uint8_t kTsSyncByte = 0x47;

inline constexpr uint16_t kTsPidPat = 0x0000;
inline constexpr uint16_t kTsPidNull = 0x1FFF;
// The PIDs Weir's muxer uses (the same as FFmpeg's defaults).
inline constexpr uint16_t kTsPidPmt = 0x1000;
inline constexpr uint16_t kTsPidVideo = 0x0100;
inline constexpr uint16_t kTsPidAudio = 0x0101;

inline constexpr uint8_t kTsTablePat = 0x00;
inline constexpr uint8_t kTsTablePmt = 0x02;

// stream_type values (13818-1 table 2-34 and later amendments).
inline constexpr uint8_t kStreamTypeMpeg1Audio = 0x03;
inline constexpr uint8_t kStreamTypeMpeg2Audio = 0x04;
inline constexpr uint8_t kStreamTypePrivatePes = 0x06;
inline constexpr uint8_t kStreamTypeAacAdts = 0x0F;
inline constexpr uint8_t kStreamTypeAacLatm = 0x11;
inline constexpr uint8_t kStreamTypeH264 = 0x1B;
inline constexpr uint8_t kStreamTypeHevc = 0x24;

// PES stream_id values.
inline constexpr uint8_t kPesStreamIdVideo = 0xE0;
inline constexpr uint8_t kPesStreamIdAudio = 0xC0;
inline constexpr uint8_t kPesStreamIdPrivate1 = 0xBD;

// Descriptor tags.
inline constexpr uint8_t kTsDescriptorRegistration = 0x05;
inline constexpr uint8_t kTsDescriptorExtension = 0x7F;  // DVB extension_descriptor

// Timestamps: PTS/DTS are 33-bit 90 kHz counters; PCR is base (33 bits, 90 kHz)
// * 300 + extension (27 MHz).
inline constexpr int64_t kTsTimestampModulo = int64_t(1) << 33;
inline constexpr int64_t kTsClock = 90000;

// Largest PSI section: section_length is at most 1021 (13818-1 2.4.4.11), so a
// whole section is at most 1024 bytes.
inline constexpr size_t kTsMaxSectionLength = 1021;

// CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, no reflection, no final
// xor). Over a whole section including its CRC the result is 0.
uint32_t crc32_mpeg(core::ByteView data);

// ---- TS packet -------------------------------------------------------------

struct TsPacketInfo {
  uint16_t pid = 0;
  bool transport_error = false;
  bool payload_unit_start = false;
  uint8_t scrambling = 0;
  uint8_t continuity_counter = 0;
  bool has_adaptation_field = false;
  bool has_payload = false;
  // Adaptation field (valid when has_adaptation_field and its length > 0).
  bool discontinuity = false;
  bool random_access = false;
  bool has_pcr = false;
  int64_t pcr = 0;           // 27 MHz: base * 300 + extension
  // The adaptation field ends in stuffing (0xFF bytes, or a zero length):
  // a muxer pads a packet so when a PES ends inside it. Fields other than
  // the PCR are not parsed, so one that ends in 0xFF reads as stuffing too.
  bool stuffed = false;
  core::ByteView payload;    // borrowed from the packet; empty if none
};

// Parses one 188-byte packet. Fails on a missing sync byte, an adaptation
// field longer than 183 bytes (182 when a payload follows) or a PCR that does
// not fit the field. adaptation_field_control 00 (reserved) gives a packet
// with neither adaptation field nor payload.
core::Result<TsPacketInfo> parse_ts_packet(core::ByteView packet);

// ---- PSI sections ----------------------------------------------------------

struct PsiSection {
  uint8_t table_id = 0;
  uint16_t table_id_extension = 0;  // transport_stream_id (PAT), program_number (PMT)
  uint8_t version = 0;
  bool current_next = true;
  uint8_t section_number = 0;
  uint8_t last_section_number = 0;
  core::ByteView body;  // after the 8-byte long header, before the CRC; borrowed
};

// Total size (3 + section_length) of the section starting at `data`, or 0 if
// fewer than 3 bytes are available. Does not validate.
size_t psi_section_size(core::ByteView data);

// Parses one long-form section (section_syntax_indicator 1) occupying exactly
// `section` (3 + section_length bytes). Checks the length fields and the CRC.
core::Result<PsiSection> parse_psi_section(core::ByteView section);

struct PatProgram {
  uint16_t program_number = 0;  // 0 = network PID
  uint16_t pid = 0;
};
core::Result<std::vector<PatProgram>> parse_pat(const PsiSection& section);

struct PmtStream {
  uint8_t stream_type = 0;
  uint16_t pid = 0;
  uint32_t registration = 0;     // format_identifier of a registration descriptor, 0 if none
  core::ByteView descriptors;    // ES_info descriptors, borrowed from the section
};
struct Pmt {
  uint16_t program_number = 0;
  uint16_t pcr_pid = kTsPidNull;
  uint32_t registration = 0;     // program-level registration descriptor, 0 if none
  std::vector<PmtStream> streams;
};
core::Result<Pmt> parse_pmt(const PsiSection& section);

// Finds the first descriptor with `tag` in a descriptor loop; the result is
// its payload (without tag and length), borrowed. nullopt if absent or if the
// loop is malformed before it.
std::optional<core::ByteView> find_descriptor(core::ByteView descriptors, uint8_t tag);

struct PmtStreamSpec {
  uint8_t stream_type = 0;
  uint16_t pid = 0;
  std::vector<uint8_t> descriptors;  // raw ES_info descriptor bytes
};

// Complete sections (header, body, CRC).
std::vector<uint8_t> build_pat_section(uint16_t transport_stream_id, uint16_t program_number,
                                       uint16_t pmt_pid, uint8_t version = 0);
std::vector<uint8_t> build_pmt_section(uint16_t program_number, uint16_t pcr_pid,
                                       const std::vector<PmtStreamSpec>& streams,
                                       uint8_t version = 0);

// ---- PES -------------------------------------------------------------------

struct PesHeader {
  uint8_t stream_id = 0;
  uint16_t packet_length = 0;   // PES_packet_length; 0 = unbounded (video only)
  bool data_alignment = false;
  bool has_pts = false;
  bool has_dts = false;
  int64_t pts = 0;              // 33-bit, 90 kHz
  int64_t dts = 0;              // == pts when has_dts is false
  size_t header_size = 0;       // bytes before the ES payload (9 + PES_header_data_length)
};

// Bytes parse_pes_header needs to see for the header that starts `data`:
// 6 or 9 until byte 8 is known, then 9 + PES_header_data_length.
size_t pes_header_needed(core::ByteView data);

// Parses a PES header at the start of `data`, which must hold at least
// pes_header_needed(data) bytes. Stream ids without the optional header
// (padding, private_stream_2, ...) get header_size 6. Checks the start code,
// the '10' marker bits, that PES_header_data_length covers the flagged
// PTS/DTS fields and that a non-zero PES_packet_length covers the header.
// PTS/DTS marker bits are not checked (some hardware encoders get them wrong,
// and FFmpeg ignores them too).
core::Result<PesHeader> parse_pes_header(core::ByteView data);

// Writes a PES header: '10' marker, data_alignment_indicator as given,
// PTS (and DTS if dts != pts), PES_packet_length computed from payload_size
// (0 when `bounded` is false or the length does not fit 16 bits).
// Timestamps are taken modulo 2^33.
void write_pes_header(core::ByteWriter& out, uint8_t stream_id, int64_t pts, int64_t dts,
                      size_t payload_size, bool bounded, bool data_alignment = true);
// Size write_pes_header will write.
size_t pes_header_size(int64_t pts, int64_t dts);

// 5-byte PTS/DTS field with the given 4-bit prefix (0b0010 PTS only, 0b0011
// PTS of a pair, 0b0001 DTS).
void write_pes_timestamp(uint8_t* p, uint8_t prefix, int64_t ts);

}  // namespace weir::protocol
