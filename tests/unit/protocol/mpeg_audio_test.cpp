// MPEG audio frame headers (ISO/IEC 11172-3 2.4.2.3) and the FLV MP3 byte.
#include <catch2/catch.hpp>

#include "protocol/flv_tag.h"
#include "protocol/mpeg_audio.h"

using namespace weir;
using namespace weir::protocol;

TEST_CASE("MPEG audio: layer III headers, MPEG-1 and MPEG-2", "[mpeg_audio]") {
  MpegAudioFrame f;
  const uint8_t v1[] = {0xFF, 0xFB, 0x90, 0x64};  // MPEG-1 L3, 128 kbit/s, 44.1 kHz, joint stereo
  REQUIRE(parse_mpeg_audio_header(v1, f));
  CHECK(f.layer == 3);
  CHECK(f.bitrate == 128000);
  CHECK(f.sample_rate == 44100);
  CHECK(f.samples == 1152);
  CHECK(f.length == 417);
  CHECK_FALSE(f.mono);
  CHECK(flv_mp3_header(f) == (kSoundFormatMp3 << 4 | 3 << 2 | 2 | 1));

  const uint8_t v2[] = {0xFF, 0xF3, 0x44, 0xC4};  // MPEG-2 L3, 32 kbit/s, 24 kHz, mono
  REQUIRE(parse_mpeg_audio_header(v2, f));
  CHECK(f.sample_rate == 24000);
  CHECK(f.samples == 576);
  CHECK(f.bitrate == 32000);
  CHECK(f.mono);
  CHECK(f.length == 96);
  CHECK(flv_mp3_header(f) == (kSoundFormatMp3 << 4 | 2 << 2 | 2));
}

TEST_CASE("MPEG audio: what is not a header", "[mpeg_audio]") {
  MpegAudioFrame f;
  const uint8_t short_one[] = {0xFF, 0xFB, 0x90};
  const uint8_t no_sync[] = {0xFE, 0xFB, 0x90, 0x64};
  const uint8_t reserved_version[] = {0xFF, 0xEB, 0x90, 0x64};
  const uint8_t free_format[] = {0xFF, 0xFB, 0x00, 0x64};
  const uint8_t bad_bitrate[] = {0xFF, 0xFB, 0xF0, 0x64};
  const uint8_t bad_rate[] = {0xFF, 0xFB, 0x9C, 0x64};
  CHECK_FALSE(parse_mpeg_audio_header(short_one, f));
  CHECK_FALSE(parse_mpeg_audio_header(no_sync, f));
  CHECK_FALSE(parse_mpeg_audio_header(reserved_version, f));
  CHECK_FALSE(parse_mpeg_audio_header(free_format, f));
  CHECK_FALSE(parse_mpeg_audio_header(bad_bitrate, f));
  CHECK_FALSE(parse_mpeg_audio_header(bad_rate, f));
}
