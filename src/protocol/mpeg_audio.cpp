#include "protocol/mpeg_audio.h"

#include "protocol/flv_tag.h"

namespace weir::protocol {

bool parse_mpeg_audio_header(core::ByteView d, MpegAudioFrame& f) {
  if (d.size() < 4 || d[0] != 0xFF || (d[1] & 0xE0) != 0xE0) return false;
  int version = (d[1] >> 3) & 3;  // 0 = 2.5, 1 reserved, 2 = MPEG-2, 3 = MPEG-1
  int layer = (d[1] >> 1) & 3;    // 1 = III, 2 = II, 3 = I
  int br_index = d[2] >> 4;
  int sr_index = (d[2] >> 2) & 3;
  int padding = (d[2] >> 1) & 1;
  if (version == 1 || layer == 0 || br_index == 0 || br_index == 15 || sr_index == 3) return false;
  static constexpr uint16_t kBitrates[5][14] = {
      {32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},  // V1 L1
      {32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},     // V1 L2
      {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},      // V1 L3
      {32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},     // V2 L1
      {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},          // V2 L2/L3
  };
  static constexpr uint32_t kRates[3] = {44100, 48000, 32000};
  bool v1 = version == 3;
  int row = v1 ? (3 - layer) : (layer == 3 ? 3 : 4);
  f.bitrate = uint32_t(kBitrates[row][br_index - 1]) * 1000;
  f.sample_rate = kRates[sr_index] >> (v1 ? 0 : version == 2 ? 1 : 2);
  f.layer = uint8_t(4 - layer);
  if (layer == 3) {
    f.samples = 384;
    f.length = (12 * f.bitrate / f.sample_rate + padding) * 4;
  } else if (layer == 2 || v1) {
    f.samples = 1152;
    f.length = 144 * f.bitrate / f.sample_rate + padding;
  } else {
    f.samples = 576;
    f.length = 72 * f.bitrate / f.sample_rate + padding;
  }
  f.mono = (d[3] >> 6) == 3;
  return f.length >= 4;
}

uint8_t flv_mp3_header(const MpegAudioFrame& f) {
  uint8_t format = f.sample_rate == 8000 ? kSoundFormatMp38k : kSoundFormatMp3;
  uint8_t rate = f.sample_rate == 8000 ? 0 : f.sample_rate >= 32000 ? 3 : f.sample_rate >= 16000 ? 2 : 1;
  return uint8_t(format << 4 | rate << 2 | 1 << 1 | (f.mono ? 0 : 1));
}

}  // namespace weir::protocol
