// FLV tag bodies (the payload of RTMP audio/video/data messages): parsing of
// the legacy and Enhanced RTMP (E-RTMP v1/v2) audio and video headers,
// conversion into core::MediaPacket, and builders for tag bodies.
//
// Parsers only look at the bytes they are given: they never copy, never keep
// the view, and never read past its end. Every function here is pure and may
// be called from any thread.
//
// Layout references: Adobe FLV spec v10.1 annex E.4.2/E.4.3 (legacy tags) and
// Veovera "Enhanced RTMP" v2 (ExAudioTagHeader / ExVideoTagHeader, including
// ModEx and Multitrack). Legacy codec ids 12 (HEVC) and 13 (AV1) are not in
// any Adobe spec; they are the de-facto extension used by Chinese CDNs, SRS
// and several FFmpeg forks and carry the same layout as AVC (codec id 7).
#pragma once

#include <cstdint>
#include <string>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"

namespace weir::protocol {

inline constexpr uint8_t kFlvTagAudio = 8;
inline constexpr uint8_t kFlvTagVideo = 9;
inline constexpr uint8_t kFlvTagScript = 18;

constexpr uint32_t make_fourcc(char a, char b, char c, char d) {
  return uint32_t(uint8_t(a)) << 24 | uint32_t(uint8_t(b)) << 16 | uint32_t(uint8_t(c)) << 8 |
         uint32_t(uint8_t(d));
}

// Video FourCCs (E-RTMP VideoFourCc).
inline constexpr uint32_t kFourccAvc1 = make_fourcc('a', 'v', 'c', '1');
inline constexpr uint32_t kFourccHvc1 = make_fourcc('h', 'v', 'c', '1');
inline constexpr uint32_t kFourccAv01 = make_fourcc('a', 'v', '0', '1');
inline constexpr uint32_t kFourccVp09 = make_fourcc('v', 'p', '0', '9');
inline constexpr uint32_t kFourccVp08 = make_fourcc('v', 'p', '0', '8');
// Audio FourCCs (E-RTMP AudioFourCc).
inline constexpr uint32_t kFourccOpus = make_fourcc('O', 'p', 'u', 's');
inline constexpr uint32_t kFourccFlac = make_fourcc('f', 'L', 'a', 'C');
inline constexpr uint32_t kFourccAc3 = make_fourcc('a', 'c', '-', '3');
inline constexpr uint32_t kFourccEac3 = make_fourcc('e', 'c', '-', '3');
inline constexpr uint32_t kFourccMp3 = make_fourcc('.', 'm', 'p', '3');
inline constexpr uint32_t kFourccMp4a = make_fourcc('m', 'p', '4', 'a');

// Legacy FLV VideoCodecId values.
inline constexpr uint8_t kVideoCodecIdAvc = 7;
inline constexpr uint8_t kVideoCodecIdHevcLegacy = 12;  // non-standard, see file comment
inline constexpr uint8_t kVideoCodecIdAv1Legacy = 13;   // non-standard, see file comment

// VideoFrameType (upper nibble bits 4-6 of byte 0).
inline constexpr uint8_t kVideoFrameKey = 1;
inline constexpr uint8_t kVideoFrameInter = 2;
inline constexpr uint8_t kVideoFrameDisposable = 3;
inline constexpr uint8_t kVideoFrameGeneratedKey = 4;
inline constexpr uint8_t kVideoFrameCommand = 5;

// Legacy AVCPacketType (also used for legacy codec ids 12/13).
inline constexpr uint8_t kAvcPacketSequenceHeader = 0;
inline constexpr uint8_t kAvcPacketNalu = 1;
inline constexpr uint8_t kAvcPacketEndOfSequence = 2;

// E-RTMP VideoPacketType.
inline constexpr uint8_t kVideoPacketSequenceStart = 0;
inline constexpr uint8_t kVideoPacketCodedFrames = 1;
inline constexpr uint8_t kVideoPacketSequenceEnd = 2;
inline constexpr uint8_t kVideoPacketCodedFramesX = 3;
inline constexpr uint8_t kVideoPacketMetadata = 4;
inline constexpr uint8_t kVideoPacketMpeg2TsSequenceStart = 5;
inline constexpr uint8_t kVideoPacketMultitrack = 6;
inline constexpr uint8_t kVideoPacketModEx = 7;

// Legacy SoundFormat values.
inline constexpr uint8_t kSoundFormatPcmPlatform = 0;
inline constexpr uint8_t kSoundFormatAdpcm = 1;
inline constexpr uint8_t kSoundFormatMp3 = 2;
inline constexpr uint8_t kSoundFormatPcmLittleEndian = 3;
inline constexpr uint8_t kSoundFormatNellymoser16kMono = 4;
inline constexpr uint8_t kSoundFormatNellymoser8kMono = 5;
inline constexpr uint8_t kSoundFormatNellymoser = 6;
inline constexpr uint8_t kSoundFormatG711ALaw = 7;
inline constexpr uint8_t kSoundFormatG711MuLaw = 8;
inline constexpr uint8_t kSoundFormatExHeader = 9;
inline constexpr uint8_t kSoundFormatAac = 10;
inline constexpr uint8_t kSoundFormatSpeex = 11;
inline constexpr uint8_t kSoundFormatMp38k = 14;
inline constexpr uint8_t kSoundFormatNative = 15;

// Legacy AACPacketType.
inline constexpr uint8_t kAacPacketSequenceHeader = 0;
inline constexpr uint8_t kAacPacketRaw = 1;

// E-RTMP AudioPacketType.
inline constexpr uint8_t kAudioPacketSequenceStart = 0;
inline constexpr uint8_t kAudioPacketCodedFrames = 1;
inline constexpr uint8_t kAudioPacketSequenceEnd = 2;
inline constexpr uint8_t kAudioPacketMultichannelConfig = 4;
inline constexpr uint8_t kAudioPacketMultitrack = 5;
inline constexpr uint8_t kAudioPacketModEx = 7;

// E-RTMP AvMultitrackType.
inline constexpr uint8_t kMultitrackOneTrack = 0;
inline constexpr uint8_t kMultitrackManyTracks = 1;
inline constexpr uint8_t kMultitrackManyTracksManyCodecs = 2;

// What a video tag body says about itself. payload_offset/payload_size give
// the codec payload (length-prefixed NAL units, decoder config record, OBUs,
// AMF metadata) inside the body; for a multitrack body they describe the one
// track it carries (see parse_video_tag).
struct VideoTagInfo {
  core::Codec codec = core::Codec::kUnknown;
  uint8_t frame_type = 0;        // VideoFrameType, 1..5
  uint8_t codec_id = 0;          // legacy VideoCodecId; 0 for enhanced tags
  uint8_t packet_type = 0;       // legacy AVCPacketType or E-RTMP VideoPacketType
                                 // (after ModEx / Multitrack resolution)
  bool enhanced = false;         // IsExHeader set
  uint32_t fourcc = 0;           // enhanced only
  bool keyframe = false;         // frame type 1 or 4 and carries a picture
  bool is_config = false;        // sequence header / SequenceStart
  bool is_end_of_sequence = false;
  bool is_command_frame = false; // frame type 5: video info/command, no picture
  bool is_metadata = false;      // E-RTMP Metadata (AMF, e.g. colorInfo), no picture
  bool is_mpeg2ts_sequence_start = false;  // E-RTMP MPEG2TSSequenceStart (AV1 descriptor)
  bool has_picture = false;      // payload holds coded picture data
  int32_t cts = 0;               // composition time offset, ms (SI24)
  uint32_t timestamp_offset_nano = 0;  // ModEx TimestampOffsetNano, 0 if absent
  bool multitrack = false;
  uint8_t multitrack_type = 0;
  uint8_t track_id = 0;          // 0 unless multitrack
  size_t payload_offset = 0;
  size_t payload_size = 0;
};

struct AudioTagInfo {
  core::Codec codec = core::Codec::kUnknown;
  uint8_t sound_format = 0;      // legacy SoundFormat; 9 for enhanced tags
  // Legacy only: rate 0=5.5k 1=11k 2=22k 3=44k; size 0=8 bit 1=16 bit;
  // channels 1 or 2. AAC streams always signal 3/1/2 here whatever they carry.
  uint8_t sound_rate = 0;
  uint8_t sound_size = 0;
  uint8_t sound_channels = 0;
  uint8_t packet_type = 0;       // legacy AACPacketType or E-RTMP AudioPacketType
  bool enhanced = false;
  uint32_t fourcc = 0;
  bool is_config = false;        // AAC sequence header / SequenceStart
  bool is_end_of_sequence = false;
  bool is_multichannel_config = false;  // E-RTMP MultichannelConfig (no audio)
  bool has_audio = false;        // payload holds coded audio frames
  uint32_t timestamp_offset_nano = 0;
  bool multitrack = false;
  uint8_t multitrack_type = 0;
  uint8_t track_id = 0;
  size_t payload_offset = 0;
  size_t payload_size = 0;
};

// Parses a video tag body. Errors name what is wrong ("video tag: 3 bytes, AVC
// header needs 5"). Unknown legacy codec ids (Sorenson, VP6, screen video)
// parse with codec kUnknown and payload_offset 1. Enhanced tags with an
// unknown FourCC (including 'vp08', which core::Codec cannot name) and
// multitrack bodies that carry more than one track are "unsupported" errors:
// a MediaPacket holds exactly one track.
core::Result<VideoTagInfo> parse_video_tag(core::ByteView body);

// Parses an audio tag body. Legacy formats other than AAC have a 1-byte header.
// An empty body (the RTMP "audio silence" message) is an error here; callers
// that want to forward silence must check for it first.
core::Result<AudioTagInfo> parse_audio_tag(core::ByteView body);

// Turns one FLV tag / RTMP message into a MediaPacket that shares `body`.
// flv_tag_type is 8 (audio), 9 (video) or 18 (script data / AMF0 data message).
// dts = timestamp_ms, pts = dts + cts. Flags: kKeyframe (video only),
// kConfig, kEndOfSequence, kDisposable (H.264/legacy frame type 3).
// Tags that carry no media (command frames, E-RTMP Metadata, MultichannelConfig,
// MPEG2TSSequenceStart, sequence end) get payload_offset == body.size(), so
// payload() is empty and packagers skip them while FLV/RTMP outputs still
// forward the body. If track_id is non-null it receives the E-RTMP track id
// (0 for single-track streams); callers that only handle one track should
// drop packets whose track id is not 0.
core::Result<core::MediaPacket> make_media_packet(uint8_t flv_tag_type, int64_t timestamp_ms,
                                                  core::Slice body, uint8_t* track_id = nullptr);

// Builders. All return a fresh Slice holding the complete tag body.
// Legacy AVC: byte 0 = frame type << 4 | 7, AVCPacketType, SI24 cts, payload.
core::Slice build_video_tag_avc(bool keyframe, uint8_t avc_packet_type, int32_t cts,
                                core::ByteView payload);
// Legacy codec ids 12/13 (same layout as AVC). For tests and tools that must
// talk to servers which only understand the non-standard ids.
core::Slice build_video_tag_legacy(uint8_t codec_id, uint8_t frame_type, uint8_t packet_type,
                                   int32_t cts, core::ByteView payload);
// E-RTMP single-track video tag. For packet_type kVideoPacketCodedFrames with
// avc1/hvc1 and cts == 0 this emits CodedFramesX instead (no cts field); for
// other FourCCs CodedFrames never carries a cts and `cts` is ignored.
core::Slice build_video_tag_enhanced(uint32_t fourcc, uint8_t frame_type, uint8_t packet_type,
                                     int32_t cts, core::ByteView payload);
// Legacy AAC: 0xAF (AAC, 44 kHz, 16 bit, stereo, as the FLV spec requires for
// AAC) or the given channel bit, AACPacketType, payload.
core::Slice build_audio_tag_aac(uint8_t aac_packet_type, core::ByteView payload,
                                bool stereo = true);
// E-RTMP single-track audio tag: 0x90 | packet_type, FourCC, payload.
core::Slice build_audio_tag_enhanced(uint32_t fourcc, uint8_t packet_type, core::ByteView payload);

// The same headers written into `w`, for callers that assemble the payload
// in place behind them (one copy of a frame instead of two).
void append_video_tag_header_legacy(core::ByteWriter& w, uint8_t codec_id, uint8_t frame_type,
                                    uint8_t packet_type, int32_t cts);
void append_video_tag_header_enhanced(core::ByteWriter& w, uint32_t fourcc, uint8_t frame_type,
                                      uint8_t packet_type, int32_t cts);
void append_audio_tag_header_aac(core::ByteWriter& w, uint8_t aac_packet_type, bool stereo);
void append_audio_tag_header_enhanced(core::ByteWriter& w, uint32_t fourcc, uint8_t packet_type);

// "hvc1" for logs; non-printable bytes become '?'.
std::string fourcc_to_string(uint32_t fourcc);

}  // namespace weir::protocol
