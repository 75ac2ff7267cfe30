// TsToPackets: elementary-stream access units as they come out of MPEG-TS PES
// packets -> Weir MediaPackets whose body is an FLV tag body (so the hub can
// forward them to FLV/RTMP viewers unchanged).
//
//  - H.264 (Annex B) -> legacy FLV video (codec id 7), AVCC with 4-byte
//    lengths. AUD (9) and filler (12) NAL units are dropped; SPS/PPS stay in
//    band and are also tracked by id; an AVC sequence header (avcC) is emitted
//    before the first keyframe and again whenever the parameter sets change.
//    Keyframe = the AU holds an IDR slice.
//  - HEVC (Annex B) -> Enhanced RTMP 'hvc1' (SequenceStart with hvcC, then
//    CodedFrames/CodedFramesX). AUD (35) and filler (38) are dropped.
//    Keyframe = the AU holds an IRAP picture (BLA/IDR/CRA, types 16..21).
//  - Video before the first keyframe that has a config is dropped (counted).
//  - AAC in ADTS -> one legacy FLV AAC packet per raw frame, with an AAC
//    sequence header (AudioSpecificConfig built from the ADTS header) first
//    and on change. Frame i after a PES PTS is stamped PTS + i * 1024 samples.
//    Frames may straddle PES boundaries (a partial frame is carried over);
//    bytes that are not a frame are skipped until the next syncword (counted).
//  - MP3 (MPEG-1/2/2.5 layer I-III) -> legacy FLV sound format 2 (14 for
//    8 kHz), split into frames the same way.
//  - Opus (ETSI TS 102 366 style control headers) -> Enhanced RTMP 'Opus'
//    (SequenceStart carries an OpusHead built from the PMT channel count).
//
// Time: inputs are 90 kHz on the demuxer's continuous timeline (may be
// negative near the start); outputs are ms, rounded to nearest. Per track, DTS
// never goes backwards: earlier values are raised (counted in ts_clamped),
// with PTS kept >= DTS. Video before 0 is raised to 0 (it may be the first
// keyframe); audio frames before 0 are dropped (before_start).
//
// Ownership/threading: one converter per demuxer, used by one thread. Every
// emitted packet owns its body. Memory: parameter sets (bounded counts) and at
// most one partial audio frame (<= 8 KiB).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"

namespace weir::protocol {

using TsPacketCallback = std::function<core::Status(const core::MediaPacket&)>;

struct TsEsStats {
  uint64_t video_frames = 0;         // video MediaPackets emitted (configs excluded)
  uint64_t audio_frames = 0;         // audio MediaPackets emitted (configs excluded)
  uint64_t configs = 0;              // config packets emitted (video + audio)
  uint64_t waiting_keyframe = 0;     // video AUs dropped before the first usable keyframe
  uint64_t es_errors = 0;            // unusable NAL units / audio frames / config builds
  uint64_t audio_bytes_skipped = 0;  // bytes skipped while looking for an audio syncword
  uint64_t ts_clamped = 0;           // timestamps raised to keep DTS >= 0 and monotonic
  uint64_t before_start = 0;         // audio frames dropped for a time before the timeline's zero
};

class TsToPackets {
 public:
  TsToPackets() = default;

  // Selects the codec of each track (kUnknown = none) and resets its state.
  // Opus takes its channel count from here (PMT extension descriptor).
  void set_video_codec(core::Codec codec);
  void set_audio_codec(core::Codec codec, uint8_t opus_channels = 2);
  core::Codec video_codec() const { return video_codec_; }
  core::Codec audio_codec() const { return audio_codec_; }
  uint8_t opus_channels() const { return opus_channels_; }

  // One video access unit (Annex B). pts90/dts90 on the output timeline.
  core::Status video(core::ByteView annexb, int64_t pts90, int64_t dts90, const TsPacketCallback& cb);
  // One audio PES payload. has_pts false: continue from the previous frames'
  // time (dropped if there is none).
  core::Status audio(core::ByteView data, bool has_pts, int64_t pts90, const TsPacketCallback& cb);
  // Forgets a partial audio frame (after lost TS packets, at a discontinuity).
  void drop_audio_carry();
  // Time (90 kHz) just after the last audio frame emitted or pending, for
  // PES packets without PTS; false if none.
  bool audio_next_time(int64_t& t90) const;

  const TsEsStats& stats() const { return stats_; }

 private:
  struct ParamSet {
    uint32_t id = 0;
    std::vector<uint8_t> nal;
  };
  bool store_param(std::vector<ParamSet>& list, uint32_t id, core::ByteView nal, size_t max_count);
  core::Status emit_video_config(int64_t dts_ms, const TsPacketCallback& cb);
  core::Status audio_framed(core::ByteView data, bool has_pts, int64_t pts90, const TsPacketCallback& cb);
  core::Status audio_opus(core::ByteView data, bool has_pts, int64_t pts90, const TsPacketCallback& cb);
  core::Status emit_audio(core::Slice body, int64_t t90, bool config, const TsPacketCallback& cb);
  // ms for a 90 kHz time, made >= 0 and >= the track's last DTS.
  int64_t track_ms(int64_t t90, int64_t& last_ms);

  TsEsStats stats_;
  // video
  core::Codec video_codec_ = core::Codec::kUnknown;
  std::vector<ParamSet> vps_, sps_, pps_;
  bool params_changed_ = false;
  std::vector<uint8_t> video_config_;  // last emitted decoder config record
  bool video_started_ = false;         // first keyframe emitted
  int64_t video_last_ms_ = INT64_MIN;
  // audio
  core::Codec audio_codec_ = core::Codec::kUnknown;
  uint8_t opus_channels_ = 2;
  std::vector<uint8_t> audio_config_;  // last emitted AAC ASC / OpusHead
  uint32_t adts_key_ = 0;              // object type, frequency index, channels of audio_config_
  std::vector<uint8_t> carry_;         // partial frame from the previous PES
  std::vector<uint8_t> work_;
  bool have_run_ = false;              // run_base90_ is valid
  int64_t run_base90_ = 0;             // time of the first frame of the current run
  uint64_t run_samples_ = 0;           // samples emitted since run_base90_
  uint32_t run_rate_ = 0;              // sample rate of the run
  int64_t audio_last_ms_ = INT64_MIN;
  bool audio_skipping_ = false;        // inside a run of skipped bytes
};

}  // namespace weir::protocol
