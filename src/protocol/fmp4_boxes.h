// The pieces of fMP4 boxes that Fmp4Muxer's files share (internal to
// weir_protocol): timescales, sample/trun/tfhd flags, ms <-> tick conversions,
// RFC 6381 codec strings and the esds / dOps bodies of audio sample entries.
// Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/buffer.h"
#include "core/status.h"
#include "protocol/codec_config.h"

namespace weir::protocol::fmp4 {

inline constexpr uint32_t kVideoTimescale = 90000;
inline constexpr uint32_t kOpusTimescale = 48000;
inline constexpr uint32_t kAacFrameSamples = 1024;
inline constexpr uint32_t kDefaultVideoDurationTicks = kVideoTimescale / 25;

// Sample flags (ISO/IEC 14496-12 8.8.3.1): sample_depends_on in bits 25-24,
// sample_is_depended_on in bits 23-22, sample_is_non_sync_sample in bit 16.
inline constexpr uint32_t kSyncSampleFlags = 0x02000000;     // depends on no other sample
inline constexpr uint32_t kNonSyncSampleFlags = 0x01010000;  // depends on others, non-sync
inline constexpr uint32_t kDisposableFlag = 0x00800000;      // no other sample depends on it

// trun flags.
inline constexpr uint32_t kTrunDataOffset = 0x000001;
inline constexpr uint32_t kTrunDuration = 0x000100;
inline constexpr uint32_t kTrunSize = 0x000200;
inline constexpr uint32_t kTrunFlags = 0x000400;
inline constexpr uint32_t kTrunCompositionOffset = 0x000800;
// tfhd flags.
inline constexpr uint32_t kTfhdDefaultBaseIsMoof = 0x020000;

// ms -> ticks, rounded half up; negative times clamp to 0 (dts >= 0 is an
// input rule, see fmp4_muxer.h).
int64_t ms_to_ticks(int64_t ms, uint32_t timescale);
// Signed variant for presentation times (pts may precede dts by a little with
// some encoders; the composition offset is signed).
int64_t ms_to_ticks_signed(int64_t ms, uint32_t timescale);
uint32_t clamp_u32(uint64_t v);
int32_t clamp_i32(int64_t v);

// hvc1.<profile>.<compat>.<tier><level>.<constraints> (ISO/IEC 14496-15 E.3).
std::string hevc_codecs(const HevcConfig& c);
// esds body (ISO/IEC 14496-14 5.6): ES_Descriptor { DecoderConfigDescriptor {
// DecoderSpecificInfo = AudioSpecificConfig }, SLConfigDescriptor }. MPEG-1/2
// audio (oti 0x6B/0x69) has no DecoderSpecificInfo (`asc` empty).
core::Slice build_esds(uint32_t track_id, uint8_t oti, core::ByteView asc);
// dOps body (Opus in ISOBMFF 4.3.2) from an OpusHead (RFC 7845 5.1); sets `channels`.
core::Result<core::Slice> build_dops(core::ByteView head_bytes, uint16_t& channels);

}  // namespace weir::protocol::fmp4
