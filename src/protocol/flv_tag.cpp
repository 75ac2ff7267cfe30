#include "protocol/flv_tag.h"

#include <algorithm>

#include "core/byte_reader.h"

namespace weir::protocol {

using core::ByteReader;
using core::ByteView;
using core::Codec;
using core::Status;

namespace {

int32_t sign_extend_24(uint32_t v) {
  return int32_t(v << 8) >> 8;
}

uint32_t clamp_si24(int32_t v) {
  v = std::clamp<int32_t>(v, -(1 << 23), (1 << 23) - 1);
  return uint32_t(v) & 0xFFFFFF;
}

Codec video_codec_for_fourcc(uint32_t fourcc) {
  switch (fourcc) {
    case kFourccAvc1: return Codec::kH264;
    case kFourccHvc1: return Codec::kHEVC;
    case kFourccAv01: return Codec::kAV1;
    case kFourccVp09: return Codec::kVP9;
    default: return Codec::kUnknown;
  }
}

Codec audio_codec_for_fourcc(uint32_t fourcc) {
  switch (fourcc) {
    case kFourccOpus: return Codec::kOpus;
    case kFourccFlac: return Codec::kFLAC;
    case kFourccAc3: return Codec::kAC3;
    case kFourccEac3: return Codec::kEAC3;
    case kFourccMp3: return Codec::kMP3;
    case kFourccMp4a: return Codec::kAAC;
    default: return Codec::kUnknown;
  }
}

// E-RTMP v2 ModEx: while the packet type is ModEx, read
//   size = UI8 + 1 (if 256: UI16 + 1), data[size], UB4 modExType, UB4 packetType.
// `what` is "video tag" / "audio tag" for messages.
Status read_modex(ByteReader& r, uint8_t modex_value, uint8_t& packet_type, uint32_t& nano,
                  const char* what) {
  while (packet_type == modex_value) {
    uint8_t s8;
    if (!r.u8(s8)) return Status::errorf("{}: truncated ModEx size at byte {}", what, r.position());
    size_t size = size_t(s8) + 1;
    if (size == 256) {
      uint16_t s16;
      if (!r.u16be(s16)) {
        return Status::errorf("{}: truncated ModEx 16-bit size at byte {}", what, r.position());
      }
      size = size_t(s16) + 1;
    }
    ByteView data;
    if (!r.bytes(size, data)) {
      return Status::errorf("{}: ModEx data of {} bytes exceeds the {} bytes left", what, size,
                            r.remaining());
    }
    uint8_t b;
    if (!r.u8(b)) return Status::errorf("{}: truncated after ModEx data", what);
    uint8_t modex_type = b >> 4;
    packet_type = b & 0x0F;
    // TimestampOffsetNano (type 0): UI24 from the first 3 bytes of data.
    // Other ModEx types only modify the packet; unknown ones are skipped.
    if (modex_type == 0 && data.size() >= 3) {
      nano = uint32_t(data[0]) << 16 | uint32_t(data[1]) << 8 | data[2];
    }
  }
  return Status::ok();
}

// Reads the per-track prefix of a multitrack body: [FourCC if many codecs]
// trackId [UI24 size unless OneTrack]. On success `track_end` is the reader
// position where this track ends.
Status read_track_prefix(ByteReader& r, uint8_t mt_type, uint32_t& fourcc, uint8_t& track_id,
                         size_t& track_end, const char* what) {
  if (mt_type == kMultitrackManyTracksManyCodecs) {
    if (!r.u32be(fourcc)) return Status::errorf("{}: truncated track FourCC", what);
  }
  if (!r.u8(track_id)) return Status::errorf("{}: truncated track id", what);
  if (mt_type == kMultitrackOneTrack) {
    track_end = r.position() + r.remaining();
    return Status::ok();
  }
  uint32_t size;
  if (!r.u24be(size)) return Status::errorf("{}: truncated track size", what);
  if (size > r.remaining()) {
    return Status::errorf("{}: track {} size {} exceeds the {} bytes left", what, track_id, size,
                          r.remaining());
  }
  track_end = r.position() + size;
  return Status::ok();
}

// After the first track of a ManyTracks body, counts the remaining tracks so a
// batch is reported as unsupported instead of silently losing tracks.
Status reject_extra_tracks(ByteView body, size_t first_track_end, uint8_t mt_type,
                           const char* what) {
  if (mt_type == kMultitrackOneTrack || first_track_end >= body.size()) return Status::ok();
  ByteReader r(body.subspan(first_track_end));
  size_t tracks = 1;
  while (!r.empty()) {
    uint32_t fourcc = 0;
    uint8_t id = 0;
    size_t end = 0;
    Status s = read_track_prefix(r, mt_type, fourcc, id, end, what);
    if (!s) return s;
    r.skip(end - r.position());
    ++tracks;
  }
  return Status::errorf("{}: multitrack message with {} tracks is unsupported (one track per message)",
                        what, tracks);
}

Status parse_enhanced_video(ByteView body, VideoTagInfo& info) {
  const char* what = "video tag";
  ByteReader r(body);
  uint8_t b0 = 0;
  r.u8(b0);
  info.enhanced = true;
  info.frame_type = (b0 >> 4) & 0x07;
  uint8_t pt = b0 & 0x0F;
  if (Status s = read_modex(r, kVideoPacketModEx, pt, info.timestamp_offset_nano, what); !s) return s;

  if (pt != kVideoPacketMetadata && info.frame_type == kVideoFrameCommand) {
    uint8_t cmd;
    if (!r.u8(cmd)) return Status::errorf("{}: command frame without command byte", what);
    info.packet_type = pt;
    info.is_command_frame = true;
    info.payload_offset = r.position();
    info.payload_size = r.remaining();
    return Status::ok();
  }
  if (pt != kVideoPacketMetadata &&
      (info.frame_type == 0 || info.frame_type > kVideoFrameCommand)) {
    return Status::errorf("{}: reserved frame type {}", what, info.frame_type);
  }
  size_t track_end = body.size();
  if (pt == kVideoPacketMultitrack) {
    uint8_t b;
    if (!r.u8(b)) return Status::errorf("{}: truncated multitrack header", what);
    info.multitrack = true;
    info.multitrack_type = b >> 4;
    pt = b & 0x0F;
    if (info.multitrack_type > kMultitrackManyTracksManyCodecs) {
      return Status::errorf("{}: unknown multitrack type {}", what, info.multitrack_type);
    }
    if (pt == kVideoPacketMultitrack || pt == kVideoPacketModEx) {
      return Status::errorf("{}: packet type {} inside multitrack is unsupported", what, pt);
    }
    if (info.multitrack_type != kMultitrackManyTracksManyCodecs) {
      if (!r.u32be(info.fourcc)) return Status::errorf("{}: {} bytes, FourCC needs 4 more", what, body.size());
    }
    if (Status s = read_track_prefix(r, info.multitrack_type, info.fourcc, info.track_id, track_end, what); !s) {
      return s;
    }
    if (Status s = reject_extra_tracks(body, track_end, info.multitrack_type, what); !s) return s;
  } else {
    if (!r.u32be(info.fourcc)) {
      return Status::errorf("{}: {} bytes, enhanced header needs {}", what, body.size(),
                            r.position() + 4);
    }
  }
  info.codec = video_codec_for_fourcc(info.fourcc);
  if (info.codec == Codec::kUnknown) {
    return Status::errorf("{}: unsupported video FourCC '{}'", what, fourcc_to_string(info.fourcc));
  }
  info.packet_type = pt;
  // Restrict further reads to this track.
  ByteReader t(body.first(track_end));
  t.skip(r.position());
  switch (pt) {
    case kVideoPacketSequenceStart:
      info.is_config = true;
      break;
    case kVideoPacketCodedFrames:
      info.has_picture = true;
      if (info.fourcc == kFourccAvc1 || info.fourcc == kFourccHvc1) {
        uint32_t cts;
        if (!t.u24be(cts)) {
          return Status::errorf("{}: {} bytes, CodedFrames header needs {}", what, track_end,
                                t.position() + 3);
        }
        info.cts = sign_extend_24(cts);
      }
      break;
    case kVideoPacketSequenceEnd:
      info.is_end_of_sequence = true;
      break;
    case kVideoPacketCodedFramesX:
      info.has_picture = true;
      break;
    case kVideoPacketMetadata:
      info.is_metadata = true;
      break;
    case kVideoPacketMpeg2TsSequenceStart:
      info.is_mpeg2ts_sequence_start = true;
      break;
    default:
      return Status::errorf("{}: unknown video packet type {}", what, pt);
  }
  info.keyframe = info.has_picture && (info.frame_type == kVideoFrameKey ||
                                       info.frame_type == kVideoFrameGeneratedKey);
  info.payload_offset = t.position();
  info.payload_size = track_end - t.position();
  return Status::ok();
}

Status parse_legacy_video(ByteView body, VideoTagInfo& info) {
  const char* what = "video tag";
  uint8_t b0 = body[0];
  info.frame_type = (b0 >> 4) & 0x07;
  info.codec_id = b0 & 0x0F;
  if (info.frame_type == 0 || info.frame_type > kVideoFrameCommand) {
    return Status::errorf("{}: reserved frame type {}", what, info.frame_type);
  }
  if (info.frame_type == kVideoFrameCommand) {
    // Video info / command frame: a UI8 command instead of a picture.
    if (body.size() < 2) return Status::errorf("{}: command frame without command byte", what);
    info.is_command_frame = true;
    info.codec = info.codec_id == kVideoCodecIdAvc ? Codec::kH264
                 : info.codec_id == kVideoCodecIdHevcLegacy ? Codec::kHEVC
                 : info.codec_id == kVideoCodecIdAv1Legacy ? Codec::kAV1
                                                            : Codec::kUnknown;
    info.payload_offset = body.size();
    info.payload_size = 0;
    return Status::ok();
  }
  switch (info.codec_id) {
    case kVideoCodecIdAvc: info.codec = Codec::kH264; break;
    case kVideoCodecIdHevcLegacy: info.codec = Codec::kHEVC; break;
    case kVideoCodecIdAv1Legacy: info.codec = Codec::kAV1; break;
    case 2:  // Sorenson H.263
    case 3:  // screen video
    case 4:  // On2 VP6
    case 5:  // On2 VP6 with alpha
    case 6:  // screen video v2
      info.codec = Codec::kUnknown;
      info.has_picture = body.size() > 1;
      info.keyframe = info.has_picture && (info.frame_type == kVideoFrameKey ||
                                           info.frame_type == kVideoFrameGeneratedKey);
      info.payload_offset = 1;
      info.payload_size = body.size() - 1;
      return Status::ok();
    default:
      return Status::errorf("{}: unknown video codec id {}", what, info.codec_id);
  }
  if (body.size() < 5) {
    return Status::errorf("{}: {} bytes, {} header needs 5", what, body.size(),
                          info.codec == Codec::kH264   ? "AVC"
                          : info.codec == Codec::kHEVC ? "HEVC"
                                                       : "AV1");
  }
  info.packet_type = body[1];
  info.cts = sign_extend_24(uint32_t(body[2]) << 16 | uint32_t(body[3]) << 8 | body[4]);
  switch (info.packet_type) {
    case kAvcPacketSequenceHeader: info.is_config = true; break;
    case kAvcPacketNalu: info.has_picture = true; break;
    case kAvcPacketEndOfSequence: info.is_end_of_sequence = true; break;
    default:
      return Status::errorf("{}: unknown AVCPacketType {}", what, info.packet_type);
  }
  info.keyframe = info.has_picture && (info.frame_type == kVideoFrameKey ||
                                       info.frame_type == kVideoFrameGeneratedKey);
  info.payload_offset = 5;
  info.payload_size = body.size() - 5;
  return Status::ok();
}

Status parse_enhanced_audio(ByteView body, AudioTagInfo& info) {
  const char* what = "audio tag";
  ByteReader r(body);
  uint8_t b0 = 0;
  r.u8(b0);
  info.enhanced = true;
  info.sound_format = kSoundFormatExHeader;
  uint8_t pt = b0 & 0x0F;
  if (Status s = read_modex(r, kAudioPacketModEx, pt, info.timestamp_offset_nano, what); !s) return s;
  size_t track_end = body.size();
  if (pt == kAudioPacketMultitrack) {
    uint8_t b;
    if (!r.u8(b)) return Status::errorf("{}: truncated multitrack header", what);
    info.multitrack = true;
    info.multitrack_type = b >> 4;
    pt = b & 0x0F;
    if (info.multitrack_type > kMultitrackManyTracksManyCodecs) {
      return Status::errorf("{}: unknown multitrack type {}", what, info.multitrack_type);
    }
    if (pt == kAudioPacketMultitrack || pt == kAudioPacketModEx) {
      return Status::errorf("{}: packet type {} inside multitrack is unsupported", what, pt);
    }
    if (info.multitrack_type != kMultitrackManyTracksManyCodecs) {
      if (!r.u32be(info.fourcc)) return Status::errorf("{}: {} bytes, FourCC needs 4 more", what, body.size());
    }
    if (Status s = read_track_prefix(r, info.multitrack_type, info.fourcc, info.track_id, track_end, what); !s) {
      return s;
    }
    if (Status s = reject_extra_tracks(body, track_end, info.multitrack_type, what); !s) return s;
  } else {
    if (!r.u32be(info.fourcc)) {
      return Status::errorf("{}: {} bytes, enhanced header needs {}", what, body.size(),
                            r.position() + 4);
    }
  }
  info.codec = audio_codec_for_fourcc(info.fourcc);
  if (info.codec == Codec::kUnknown) {
    return Status::errorf("{}: unsupported audio FourCC '{}'", what, fourcc_to_string(info.fourcc));
  }
  info.packet_type = pt;
  switch (pt) {
    case kAudioPacketSequenceStart: info.is_config = true; break;
    case kAudioPacketCodedFrames: info.has_audio = true; break;
    case kAudioPacketSequenceEnd: info.is_end_of_sequence = true; break;
    case kAudioPacketMultichannelConfig: info.is_multichannel_config = true; break;
    default:
      return Status::errorf("{}: unknown audio packet type {}", what, pt);
  }
  info.payload_offset = r.position();
  info.payload_size = track_end - r.position();
  return Status::ok();
}

}  // namespace

std::string fourcc_to_string(uint32_t fourcc) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    char c = char((fourcc >> (24 - 8 * i)) & 0xFF);
    if (c >= 0x20 && c < 0x7F) s[i] = c;
  }
  return s;
}

core::Result<VideoTagInfo> parse_video_tag(ByteView body) {
  if (body.empty()) return Status::error("video tag: empty body");
  VideoTagInfo info;
  Status s = (body[0] & 0x80) ? parse_enhanced_video(body, info) : parse_legacy_video(body, info);
  if (!s) return s;
  return info;
}

core::Result<AudioTagInfo> parse_audio_tag(ByteView body) {
  if (body.empty()) return Status::error("audio tag: empty body");
  AudioTagInfo info;
  uint8_t b0 = body[0];
  uint8_t fmt = b0 >> 4;
  if (fmt == kSoundFormatExHeader) {
    if (Status s = parse_enhanced_audio(body, info); !s) return s;
    return info;
  }
  info.sound_format = fmt;
  info.sound_rate = (b0 >> 2) & 0x03;
  info.sound_size = (b0 >> 1) & 0x01;
  info.sound_channels = (b0 & 0x01) + 1;
  switch (fmt) {
    case kSoundFormatAac: {
      info.codec = Codec::kAAC;
      if (body.size() < 2) {
        return Status::errorf("audio tag: {} bytes, AAC header needs 2", body.size());
      }
      info.packet_type = body[1];
      if (info.packet_type == kAacPacketSequenceHeader) {
        info.is_config = true;
      } else if (info.packet_type == kAacPacketRaw) {
        info.has_audio = true;
      } else {
        return Status::errorf("audio tag: unknown AACPacketType {}", info.packet_type);
      }
      info.payload_offset = 2;
      info.payload_size = body.size() - 2;
      return info;
    }
    case 12:
    case 13:
      return Status::errorf("audio tag: reserved sound format {}", fmt);
    case kSoundFormatMp3:
    case kSoundFormatMp38k: info.codec = Codec::kMP3; break;
    case kSoundFormatPcmPlatform:
    case kSoundFormatPcmLittleEndian: info.codec = Codec::kPCM; break;
    default: info.codec = Codec::kUnknown; break;  // ADPCM, Nellymoser, G.711, Speex, native
  }
  info.has_audio = body.size() > 1;
  info.payload_offset = 1;
  info.payload_size = body.size() - 1;
  return info;
}

core::Result<core::MediaPacket> make_media_packet(uint8_t flv_tag_type, int64_t timestamp_ms,
                                                  core::Slice body, uint8_t* track_id) {
  namespace pf = core::packet_flags;
  core::MediaPacket pkt;
  pkt.dts = timestamp_ms;
  pkt.pts = timestamp_ms;
  if (track_id) *track_id = 0;
  switch (flv_tag_type) {
    case kFlvTagScript:
      pkt.track = core::TrackType::kData;
      pkt.codec = Codec::kAmf;
      pkt.payload_offset = 0;
      pkt.body = std::move(body);
      return pkt;
    case kFlvTagVideo: {
      auto r = parse_video_tag(body.view());
      if (!r) return r.status();
      const VideoTagInfo& v = r.value();
      pkt.track = core::TrackType::kVideo;
      pkt.codec = v.codec;
      if (v.keyframe) pkt.flags |= pf::kKeyframe;
      if (v.is_config) pkt.flags |= pf::kConfig;
      if (v.is_end_of_sequence) pkt.flags |= pf::kEndOfSequence;
      if (v.has_picture && v.frame_type == kVideoFrameDisposable) pkt.flags |= pf::kDisposable;
      size_t off = (v.has_picture || v.is_config) ? v.payload_offset : body.size();
      if (off > UINT16_MAX) {
        return Status::errorf("video tag: header of {} bytes is too long", off);
      }
      pkt.payload_offset = uint16_t(off);
      pkt.pts = timestamp_ms + v.cts;
      if (track_id) *track_id = v.track_id;
      pkt.body = std::move(body);
      return pkt;
    }
    case kFlvTagAudio: {
      auto r = parse_audio_tag(body.view());
      if (!r) return r.status();
      const AudioTagInfo& a = r.value();
      pkt.track = core::TrackType::kAudio;
      pkt.codec = a.codec;
      if (a.is_config) pkt.flags |= pf::kConfig;
      if (a.is_end_of_sequence) pkt.flags |= pf::kEndOfSequence;
      size_t off = (a.has_audio || a.is_config) ? a.payload_offset : body.size();
      if (off > UINT16_MAX) {
        return Status::errorf("audio tag: header of {} bytes is too long", off);
      }
      pkt.payload_offset = uint16_t(off);
      if (track_id) *track_id = a.track_id;
      pkt.body = std::move(body);
      return pkt;
    }
    default:
      return Status::errorf("flv tag: unsupported tag type {}", flv_tag_type);
  }
}

void append_video_tag_header_legacy(core::ByteWriter& w, uint8_t codec_id, uint8_t frame_type,
                                    uint8_t packet_type, int32_t cts) {
  w.u8(uint8_t((frame_type & 0x07) << 4 | (codec_id & 0x0F)));
  w.u8(packet_type);
  w.u24be(clamp_si24(cts));
}

void append_video_tag_header_enhanced(core::ByteWriter& w, uint32_t fourcc, uint8_t frame_type,
                                      uint8_t packet_type, int32_t cts) {
  bool has_cts_field = fourcc == kFourccAvc1 || fourcc == kFourccHvc1;
  // Only avc1/hvc1 CodedFrames carry a composition time; a zero one is sent
  // as CodedFramesX (E-RTMP VideoPacketType 3).
  if (packet_type == kVideoPacketCodedFrames && has_cts_field && cts == 0) {
    packet_type = kVideoPacketCodedFramesX;
  }
  w.u8(uint8_t(0x80 | (frame_type & 0x07) << 4 | (packet_type & 0x0F)));
  w.u32be(fourcc);
  if (packet_type == kVideoPacketCodedFrames && has_cts_field) w.u24be(clamp_si24(cts));
}

void append_audio_tag_header_aac(core::ByteWriter& w, uint8_t aac_packet_type, bool stereo) {
  w.u8(stereo ? 0xAF : 0xAE);
  w.u8(aac_packet_type);
}

void append_audio_tag_header_enhanced(core::ByteWriter& w, uint32_t fourcc, uint8_t packet_type) {
  w.u8(uint8_t(kSoundFormatExHeader << 4 | (packet_type & 0x0F)));
  w.u32be(fourcc);
}

core::Slice build_video_tag_legacy(uint8_t codec_id, uint8_t frame_type, uint8_t packet_type,
                                   int32_t cts, ByteView payload) {
  core::ByteWriter w(payload.size() + 5);
  append_video_tag_header_legacy(w, codec_id, frame_type, packet_type, cts);
  w.bytes(payload);
  return w.finish();
}

core::Slice build_video_tag_avc(bool keyframe, uint8_t avc_packet_type, int32_t cts,
                                ByteView payload) {
  return build_video_tag_legacy(kVideoCodecIdAvc, keyframe ? kVideoFrameKey : kVideoFrameInter,
                                avc_packet_type, cts, payload);
}

core::Slice build_video_tag_enhanced(uint32_t fourcc, uint8_t frame_type, uint8_t packet_type,
                                     int32_t cts, ByteView payload) {
  core::ByteWriter w(payload.size() + 8);
  append_video_tag_header_enhanced(w, fourcc, frame_type, packet_type, cts);
  w.bytes(payload);
  return w.finish();
}

core::Slice build_audio_tag_aac(uint8_t aac_packet_type, ByteView payload, bool stereo) {
  core::ByteWriter w(payload.size() + 2);
  append_audio_tag_header_aac(w, aac_packet_type, stereo);
  w.bytes(payload);
  return w.finish();
}

core::Slice build_audio_tag_enhanced(uint32_t fourcc, uint8_t packet_type, ByteView payload) {
  core::ByteWriter w(payload.size() + 5);
  append_audio_tag_header_enhanced(w, fourcc, packet_type);
  w.bytes(payload);
  return w.finish();
}

}  // namespace weir::protocol
