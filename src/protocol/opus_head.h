// OpusHead, the Opus identification header (RFC 7845 5.1): what E-RTMP's Opus
// SequenceStart, FFmpeg's Opus extradata and Ogg carry, and what ISOBMFF's dOps
// box is rewritten from.
//
// Pure functions, any thread. The parser checks every length against its input
// and the channel mapping against RFC 7845 5.1.1.
#pragma once

#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

inline constexpr uint32_t kOpusSampleRate = 48000;  // Opus always decodes at 48 kHz

struct OpusHead {
  uint8_t version = 1;           // major version (upper nibble) must be 0
  uint8_t channels = 2;          // output channel count, >= 1
  uint16_t pre_skip = 0;         // samples at 48 kHz to drop at the start
  uint32_t input_sample_rate = kOpusSampleRate;  // informational only
  int16_t output_gain = 0;       // Q7.8 dB
  uint8_t mapping_family = 0;    // 0: mono/stereo, one stream
  // Channel mapping table (family != 0 only; family 0 implies one stream,
  // channels - 1 coupled, mapping 0..channels-1).
  uint8_t stream_count = 1;
  uint8_t coupled_count = 0;
  std::vector<uint8_t> mapping;  // `channels` entries when family != 0
};

core::Result<OpusHead> parse_opus_head(core::ByteView head);
// Fails for what parse_opus_head would refuse (family 0 with more than two
// channels, a mapping of the wrong size or naming a stream that is not there).
core::Result<core::Slice> build_opus_head(const OpusHead& head);

}  // namespace weir::protocol
