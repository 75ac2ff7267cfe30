// Fuzz target: MPEG audio frame headers. Whatever parses has a sane length,
// rate and frame size, and walking a buffer frame by frame never overruns.
#include <cstdint>
#include <cstdlib>

#include "protocol/flv_tag.h"
#include "protocol/mpeg_audio.h"

using namespace weir;
using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  size_t pos = 0;
  while (pos < in.size()) {
    MpegAudioFrame f;
    if (!parse_mpeg_audio_header(in.subspan(pos), f)) {
      ++pos;
      continue;
    }
    if (f.length < 4 || f.length > 8192) abort();
    if (f.samples != 384 && f.samples != 576 && f.samples != 1152) abort();
    if (f.sample_rate < 8000 || f.sample_rate > 48000 || f.layer < 1 || f.layer > 3) abort();
    uint8_t b = flv_mp3_header(f);
    if ((b >> 4) != kSoundFormatMp3 && (b >> 4) != kSoundFormatMp38k) abort();
    pos += f.length;
  }
  return 0;
}
