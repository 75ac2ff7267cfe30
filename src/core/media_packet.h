// MediaPacket: one access unit (or config / metadata record) as every module
// sees it. Value type; the payload is a refcounted Slice, so copies are cheap and
// the bytes themselves are immutable once published.
//
// Payload layout: `body` is the FLV tag body exactly as RTMP/FLV carry it
// (legacy or Enhanced RTMP header included), because FLV and RTMP are the
// outputs with the most viewers and can then forward it untouched. The codec
// payload (AVCC/HVCC length-prefixed NAL units, raw AAC frame, decoder config
// record, AMF metadata) is body[payload_offset..]. Other containers (TS, fMP4)
// read the codec payload.
//
// Time: dts and pts are in milliseconds (the FLV/RTMP clock), 64-bit so they
// never wrap inside the server.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace weir::core {

enum class TrackType : uint8_t { kVideo = 0, kAudio = 1, kData = 2 };

enum class Codec : uint8_t {
  kUnknown = 0,
  // video
  kH264,
  kHEVC,
  kAV1,
  kVP9,
  // audio
  kAAC,
  kMP3,
  kOpus,
  kFLAC,
  kAC3,
  kEAC3,
  kPCM,
  // data
  kAmf,
};

std::string_view codec_name(Codec c);

namespace packet_flags {
inline constexpr uint8_t kKeyframe = 1 << 0;    // random access point (audio frames of an
                                                // audio-only stream are marked by the hub)
inline constexpr uint8_t kConfig = 1 << 1;      // decoder config record (AVC/HEVC/AAC seq header);
                                                // on the data track: the stream's onMetaData
inline constexpr uint8_t kDisposable = 1 << 2;  // may be dropped under pressure
inline constexpr uint8_t kEndOfSequence = 1 << 3;
inline constexpr uint8_t kDiscontinuity = 1 << 4;  // first packet of a new publisher (set by the hub)
}  // namespace packet_flags

struct MediaPacket {
  TrackType track = TrackType::kVideo;
  Codec codec = Codec::kUnknown;
  uint8_t flags = 0;
  uint16_t payload_offset = 0;  // start of the codec payload inside body
  int64_t dts = 0;              // ms
  int64_t pts = 0;              // ms
  Slice body;                   // FLV tag body (RTMP message payload)

  bool is_keyframe() const { return flags & packet_flags::kKeyframe; }
  bool is_config() const { return flags & packet_flags::kConfig; }
  bool is_video() const { return track == TrackType::kVideo; }
  bool is_audio() const { return track == TrackType::kAudio; }
  bool is_data() const { return track == TrackType::kData; }
  ByteView payload() const { return body.view().subspan(std::min<size_t>(payload_offset, body.size())); }
  // FLV tag type: 8 audio, 9 video, 18 script data.
  uint8_t flv_tag_type() const { return track == TrackType::kVideo ? 9 : track == TrackType::kAudio ? 8 : 18; }
};

}  // namespace weir::core
