// Decoder configuration records and bitstream helpers for the codecs Weir
// carries: AVCDecoderConfigurationRecord (avcC, ISO/IEC 14496-15 5.3.3),
// HEVCDecoderConfigurationRecord (hvcC, 14496-15 8.3.3), AV1CodecConfiguration
// Record (av1C, AV1-ISOBMFF 2.3), AAC AudioSpecificConfig (14496-3 1.6.2.1) and
// ADTS headers (14496-3 1.A.2), H.264/H.265 SPS fields (exp-Golomb, with
// cropping), and Annex-B <-> length-prefixed NAL conversion.
//
// All functions are pure and may be called from any thread. Parsers never read
// past their input and fail with a short reason ("avcC: SPS 1 length 300
// exceeds the 20 bytes left"). Results either borrow from the input
// (ByteView results, documented per function) or hold Slices.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

// ---- H.264 / AVC -----------------------------------------------------------

struct AvcConfig {
  uint8_t version = 1;
  uint8_t profile = 0;          // AVCProfileIndication
  uint8_t profile_compat = 0;   // profile_compatibility
  uint8_t level = 0;            // AVCLevelIndication
  uint8_t nal_length_size = 4;  // lengthSizeMinusOne + 1
  std::vector<core::Slice> sps;  // NAL units including the 1-byte NAL header
  std::vector<core::Slice> pps;
  // High-profile extension (profiles 100, 110, 122, 144, 244), present only if
  // the record carries it.
  bool has_ext = false;
  uint8_t chroma_format = 1;
  uint8_t bit_depth_luma = 8;
  uint8_t bit_depth_chroma = 8;
  std::vector<core::Slice> sps_ext;
};

// The Slice overload shares the record's buffer; the ByteView overload copies
// the record once.
core::Result<AvcConfig> parse_avc_decoder_config(const core::Slice& record);
core::Result<AvcConfig> parse_avc_decoder_config(core::ByteView record);

// Builds avcC from bare SPS/PPS NAL units (no start codes, NAL header
// included). Profile/compat/level come from the first SPS; for high profiles
// the chroma/bit-depth extension is filled from the parsed SPS, as FFmpeg's
// avcC writer does. nal_length_size is 1, 2 or 4.
core::Result<core::Slice> build_avc_decoder_config(const std::vector<core::ByteView>& sps,
                                                   const std::vector<core::ByteView>& pps,
                                                   uint8_t nal_length_size = 4);

// ---- H.265 / HEVC ----------------------------------------------------------

inline constexpr uint8_t kHevcNalVps = 32;
inline constexpr uint8_t kHevcNalSps = 33;
inline constexpr uint8_t kHevcNalPps = 34;

struct HevcNalArray {
  bool array_completeness = true;
  uint8_t nal_type = 0;
  std::vector<core::Slice> nalus;  // including the 2-byte NAL header
};

struct HevcConfig {
  uint8_t version = 1;
  uint8_t general_profile_space = 0;
  bool general_tier_flag = false;
  uint8_t general_profile_idc = 0;
  uint32_t general_profile_compatibility_flags = 0;
  uint64_t general_constraint_indicator_flags = 0;  // 48 bits
  uint8_t general_level_idc = 0;
  uint16_t min_spatial_segmentation_idc = 0;
  uint8_t parallelism_type = 0;
  uint8_t chroma_format_idc = 1;
  uint8_t bit_depth_luma = 8;
  uint8_t bit_depth_chroma = 8;
  uint16_t avg_frame_rate = 0;
  uint8_t constant_frame_rate = 0;
  uint8_t num_temporal_layers = 0;
  bool temporal_id_nested = false;
  uint8_t nal_length_size = 4;
  std::vector<HevcNalArray> arrays;

  // All NAL units of one type across the arrays, in record order.
  std::vector<core::Slice> nalus_of_type(uint8_t nal_type) const;
};

core::Result<HevcConfig> parse_hevc_decoder_config(const core::Slice& record);
core::Result<HevcConfig> parse_hevc_decoder_config(core::ByteView record);

// Builds hvcC from bare VPS/SPS/PPS NAL units (2-byte NAL header included).
// Profile/tier/level, chroma format, bit depths and temporal layers come from
// the first SPS; min_spatial_segmentation_idc, parallelismType and
// avgFrameRate are written as 0 ("unknown"), which decoders accept.
core::Result<core::Slice> build_hevc_decoder_config(const std::vector<core::ByteView>& vps,
                                                    const std::vector<core::ByteView>& sps,
                                                    const std::vector<core::ByteView>& pps,
                                                    uint8_t nal_length_size = 4);

// ---- AV1 -------------------------------------------------------------------

struct Av1Config {
  uint8_t version = 1;
  uint8_t seq_profile = 0;
  uint8_t seq_level_idx_0 = 0;
  bool seq_tier_0 = false;
  bool high_bitdepth = false;
  bool twelve_bit = false;
  bool monochrome = false;
  bool chroma_subsampling_x = false;
  bool chroma_subsampling_y = false;
  uint8_t chroma_sample_position = 0;
  bool initial_presentation_delay_present = false;
  uint8_t initial_presentation_delay_minus_one = 0;
  core::Slice config_obus;  // zero or more OBUs (sequence header, metadata)
};

core::Result<Av1Config> parse_av1_codec_config(const core::Slice& record);
core::Result<Av1Config> parse_av1_codec_config(core::ByteView record);

// ---- AAC -------------------------------------------------------------------

struct AacConfig {
  // Core audio object type (2 = AAC LC). For explicitly signalled HE-AAC
  // (AOT 5/29 first), this is the underlying object type and sbr/ps are set.
  uint8_t object_type = 2;
  uint8_t sampling_frequency_index = 4;  // 0..12, or 15 = explicit frequency
  uint32_t sampling_frequency = 44100;   // core sampling frequency, Hz
  uint8_t channel_configuration = 2;     // 0 = defined in a PCE
  bool sbr = false;
  bool ps = false;
  uint32_t extension_sampling_frequency = 0;  // SBR output rate, 0 if no SBR
};

// Sampling frequency for an index (0..12), 0 for reserved/escape values.
uint32_t aac_sampling_frequency(uint8_t index);
// Index (0..12) for a standard frequency, 15 if none matches.
uint8_t aac_sampling_frequency_index(uint32_t hz);

core::Result<AacConfig> parse_aac_audio_specific_config(core::ByteView asc);
// Output channels for a channelConfiguration (14496-3 1.6.3.4, 23003-3 for
// 11..14); 2 for 0 (a program config element decides, the decoder reads it)
// and for reserved values.
uint16_t aac_channel_count(uint8_t channel_configuration);
// AudioSpecificConfig with a zero GASpecificConfig (1024-sample frames), e.g.
// 0x12 0x10 for AAC LC 44.1 kHz stereo. Used to create the FLV AAC sequence
// header from ADTS input.
core::Result<core::Slice> build_aac_audio_specific_config(const AacConfig& config);

struct AdtsHeader {
  AacConfig config;
  bool mpeg2 = false;              // ID bit
  bool protection_absent = true;
  uint8_t header_size = 7;         // 9 with CRC
  uint16_t frame_length = 0;       // whole ADTS frame including the header
  uint8_t raw_data_blocks = 1;     // number_of_raw_data_blocks_in_frame + 1
};

// Parses the ADTS header at the start of `data` (needs 7 bytes, 9 with CRC).
core::Result<AdtsHeader> parse_adts_header(core::ByteView data);
// 7-byte ADTS header (no CRC) for one raw AAC frame of payload_size bytes.
// Fails for object types ADTS cannot express (> 4), explicit frequencies and
// frames longer than 8191 bytes.
core::Result<std::array<uint8_t, 7>> build_adts_header(const AacConfig& config,
                                                       size_t payload_size);

// ---- SPS -------------------------------------------------------------------

struct VideoDimensions {
  uint32_t width = 0;
  uint32_t height = 0;
};

struct H264SpsInfo {
  uint8_t profile_idc = 0;
  uint8_t constraint_flags = 0;
  uint8_t level_idc = 0;
  uint32_t sps_id = 0;
  uint8_t chroma_format_idc = 1;
  uint8_t bit_depth_luma = 8;
  uint8_t bit_depth_chroma = 8;
  bool frame_mbs_only = true;
  uint32_t width = 0;   // after frame cropping
  uint32_t height = 0;
};

struct HevcSpsInfo {
  uint8_t general_profile_space = 0;
  bool general_tier_flag = false;
  uint8_t general_profile_idc = 0;
  uint32_t general_profile_compatibility_flags = 0;
  uint64_t general_constraint_indicator_flags = 0;  // 48 bits
  uint8_t general_level_idc = 0;
  uint8_t max_sub_layers = 1;       // sps_max_sub_layers_minus1 + 1
  bool temporal_id_nesting = false;
  uint32_t sps_id = 0;
  uint8_t chroma_format_idc = 1;
  uint8_t bit_depth_luma = 8;
  uint8_t bit_depth_chroma = 8;
  uint32_t width = 0;   // after the conformance window
  uint32_t height = 0;
};

// `nal` is one SPS NAL unit with its header, without start code; emulation
// prevention bytes are removed internally.
core::Result<H264SpsInfo> parse_h264_sps(core::ByteView nal);
core::Result<VideoDimensions> parse_h264_sps_dimensions(core::ByteView nal);
core::Result<HevcSpsInfo> parse_hevc_sps(core::ByteView nal);
core::Result<VideoDimensions> parse_hevc_sps_dimensions(core::ByteView nal);

// Removes emulation prevention bytes (00 00 03 -> 00 00).
std::vector<uint8_t> nal_to_rbsp(core::ByteView nal);

// ---- NAL framing -----------------------------------------------------------

// NAL units of an Annex-B byte stream (3- or 4-byte start codes), borrowed from
// `data`, without start codes and trailing zero bytes. Bytes before the first
// start code and empty NAL units are skipped.
std::vector<core::ByteView> split_annexb(core::ByteView data);

// Appends one NAL unit with a big-endian length prefix of nal_length_size
// (1, 2, 3 or 4) bytes. Fails if the NAL does not fit the prefix.
core::Status append_length_prefixed_nal(core::ByteWriter& out, core::ByteView nal,
                                        int nal_length_size = 4);
// Annex-B -> length-prefixed (AVCC/HVCC sample format).
core::Status annexb_to_length_prefixed(core::ByteView annexb, core::ByteWriter& out,
                                       int nal_length_size = 4);
// Length-prefixed NAL units, borrowed from `payload`. Every length is checked
// against the bytes left; zero-length NAL units are skipped.
core::Result<std::vector<core::ByteView>> split_length_prefixed(core::ByteView payload,
                                                                int nal_length_size);
// Length-prefixed -> Annex-B with 4-byte start codes.
core::Status length_prefixed_to_annexb(core::ByteView payload, int nal_length_size,
                                       core::ByteWriter& out);

// NAL unit types from the first header byte.
inline uint8_t h264_nal_type(uint8_t b0) { return b0 & 0x1F; }
inline uint8_t hevc_nal_type(uint8_t b0) { return (b0 >> 1) & 0x3F; }

// Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 3.1);
// 0 if the packet is malformed or claims more than 120 ms.
uint32_t opus_packet_samples(core::ByteView packet);

}  // namespace weir::protocol
