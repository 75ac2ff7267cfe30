#include "protocol/fmp4_in_band.h"

#include <fmt/format.h>

namespace weir::protocol {

using core::ByteView;
using core::Status;

uint8_t vp9_level_for_size(uint32_t width, uint32_t height) {
  struct Level {
    uint8_t level;
    uint64_t max_picture;
  };
  static constexpr Level kLevels[] = {{10, 36864},   {11, 73728},   {20, 122880},  {21, 245760},
                                      {30, 552960},  {31, 983040},  {40, 2228224}, {50, 8912896},
                                      {60, 35651584}};
  const uint64_t picture = uint64_t(width) * height;
  for (const Level& l : kLevels)
    if (picture <= l.max_picture) return l.level;
  return 62;
}

core::Result<Vp9SampleEntry> vp9_sample_entry(ByteView record, ByteView keyframe) {
  auto h = parse_vp9_frame_header(keyframe);
  if (!h) return h.status();
  if (!h->keyframe) return Status::error("VP9: not a key frame, no picture size");
  Vp9SampleEntry e;
  if (!record.empty()) {
    auto c = parse_vp9_codec_config(record);
    if (!c) return c.status();
    e.config = *c;
  } else {
    e.config = vp9_config_from_keyframe(*h);
  }
  e.width = h->width;
  e.height = h->height;
  if (e.config.level == 0) e.config.level = vp9_level_for_size(e.width, e.height);
  e.vpcc = build_vp9_codec_config(e.config);
  e.codecs = fmt::format("vp09.{:02d}.{:02d}.{:02d}", e.config.profile, e.config.level, e.config.bit_depth);
  e.key.assign(e.vpcc.view().begin(), e.vpcc.view().end());
  for (uint32_t v : {e.width, e.height}) {
    for (int s = 24; s >= 0; s -= 8) e.key.push_back(uint8_t(v >> s));
  }
  return e;
}

core::Result<Mp3Packet> split_mp3_packet(ByteView payload, size_t max_frames) {
  Mp3Packet p;
  size_t at = 0;
  while (at < payload.size()) {
    MpegAudioFrame f;
    ByteView rest = payload.subspan(at);
    if (!parse_mpeg_audio_header(rest, f)) {
      return Status::errorf("MP3: no valid frame header at byte {} of {}", at, payload.size());
    }
    if (f.length > rest.size()) {
      return Status::errorf("MP3: frame of {} bytes at byte {} runs past the {}-byte packet", f.length, at,
                            payload.size());
    }
    if (p.frames.empty()) {
      p.first = f;
    } else if (f.sample_rate != p.first.sample_rate || f.layer != p.first.layer || f.mono != p.first.mono ||
               f.samples != p.first.samples) {
      return Status::errorf("MP3: frame {} changes the stream parameters inside one packet", p.frames.size());
    }
    if (p.frames.size() == max_frames) return Status::errorf("MP3: more than {} frames in one packet", max_frames);
    p.frames.push_back(rest.subspan(0, f.length));
    at += f.length;
  }
  if (p.frames.empty()) return Status::error("MP3: empty packet");
  p.channels = p.first.mono ? 1 : 2;
  // MPEG-1 rates (32, 44.1, 48 kHz) are 11172-3; the half and quarter
  // rates of MPEG-2 LSF and MPEG-2.5 are 13818-3 (FFmpeg's mov muxer agrees).
  p.object_type = p.first.sample_rate >= 32000 ? kOtiMpeg1Audio : kOtiMpeg2Audio;
  return p;
}

std::string mp3_codecs(uint8_t object_type) { return fmt::format("mp4a.{:02X}", object_type); }

}  // namespace weir::protocol
