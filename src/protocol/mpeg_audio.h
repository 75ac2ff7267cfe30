// MPEG audio (MPEG-1/2/2.5 layer I/II/III, ISO/IEC 11172-3 2.4.2.3 and
// 13818-3) frame headers: what an MP3 stream's parameters are read from, since
// FLV carries no configuration record for MP3.
//
// Pure functions, any thread; they read at most the 4 header bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/buffer.h"

namespace weir::protocol {

struct MpegAudioFrame {
  size_t length = 0;         // whole frame, header included
  uint32_t samples = 0;      // per channel: 384, 576 or 1152
  uint32_t sample_rate = 0;  // Hz
  uint32_t bitrate = 0;      // bit/s
  uint8_t layer = 0;         // 1, 2 or 3
  bool mono = false;         // channel mode 3 (single channel)
};

// False for anything that is not a valid header: no sync, reserved version,
// layer, bitrate or rate index, free-format bitrate.
bool parse_mpeg_audio_header(core::ByteView data, MpegAudioFrame& out);

// The legacy FLV audio tag byte for an MP3 frame: SoundFormat 2 (14 at 8 kHz),
// the nearest FLV rate code, 16-bit, mono/stereo.
uint8_t flv_mp3_header(const MpegAudioFrame& frame);

}  // namespace weir::protocol
