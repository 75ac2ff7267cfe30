// AudioEncoder: AVFrames of any sample format/rate/layout in -> encoded audio
// MediaPackets out (AAC via FFmpeg's native "aac" encoder, Opus via libopus),
// resampled inside with libswresample (rebuilt when the input's format, rate
// or layout changes), frame-size handled with an AVAudioFifo (AAC 1024
// samples, Opus 960 at 48 kHz); pts in ms on the input's timeline.
//
// Timeline: the first frame's pts (ms) anchors the output; after that the
// output counts samples, so it is continuous whatever the input's rounding.
// An input frame more than kMaxGapMs later than the samples before it ended
// (the source lost packets) moves the anchor forward (the output jumps too);
// an input that goes back in time is taken as continuous (the output never
// goes back). The encoders' priming (AAC 1024 samples, Opus pre-skip) gives
// packets a pts before their input's; where that would be below 0 the whole
// output is shifted later by the difference (at most the priming, ~21 ms).
//
// Output: frames only, dts = pts, no flags (as FLV parsing gives audio; the
// hub marks random access for audio-only streams itself). The config packet
// (AudioSpecificConfig / OpusHead, in its FLV body) comes from config() and
// never changes for the encoder's life: the caller sends it before the first
// frame. push(nullptr) flushes (the last partial frame, the resampler's and
// the encoder's delay); after it the encoder is finished and push() fails.
//
// Bounds: the FIFO holds what one input frame brings plus less than one
// encoder frame (push() encodes every whole frame before returning); an input
// frame of more than kMaxInputSamples samples is refused.
//
// Thread: one thread at a time (the owner's WorkerPool strand), never a loop.
#pragma once

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
}

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/av_to_media.h"

namespace weir::transcode {

struct AudioEncoderSpec {
  std::string codec;  // "aac" | "opus"
  int bitrate_kbps = 128;
  int sample_rate = 48000;  // AAC: a rate the encoder lists; Opus: 48000 only
  int channels = 2;         // 1 or 2
};

class AudioEncoder {
 public:
  static constexpr int64_t kMaxGapMs = 100;
  static constexpr int kMaxInputSamples = 1 << 18;  // ~5 s at 48 kHz
  // Bitrate limits (kbit/s, both codecs), checked by open() and by the config.
  static constexpr int kMinBitrateKbps = 6;
  static constexpr int kMaxBitrateKbps = 510;

  struct Stats {
    uint64_t frames_in = 0;    // input frames taken
    uint64_t packets_out = 0;  // encoded packets made
    uint64_t resamplers = 0;   // resamplers built (1 + input format changes)
    uint64_t gaps = 0;         // times the timeline moved forward over a gap
  };

  // Fails with a message naming the field (codec, bitrate_kbps, sample_rate,
  // channels) for a value this build cannot encode, or the encoder's error.
  static core::Result<std::unique_ptr<AudioEncoder>> open(const AudioEncoderSpec& spec);
  ~AudioEncoder();
  AudioEncoder(const AudioEncoder&) = delete;
  AudioEncoder& operator=(const AudioEncoder&) = delete;

  core::MediaPacket config() const;  // the config packet (AAC AudioSpecificConfig / Opus head), dts = pts = 0
  // One decoded frame (pts in ms, or AV_NOPTS_VALUE: continues the previous),
  // or nullptr to flush. Appends the packets it completes to `out`.
  core::Status push(const AVFrame* frame_or_null_to_flush, std::vector<core::MediaPacket>& out);

  const AudioEncoderSpec& spec() const { return spec_; }
  core::Codec codec() const { return to_media_->codec(); }
  int frame_size() const { return frame_size_; }  // samples per encoded frame
  // Samples of encoder delay (AAC priming): the first input sample is
  // stamped this much after the first input frame's pts when that pts is 0.
  int priming_samples() const;
  const Stats& stats() const { return stats_; }

 private:
  AudioEncoder() = default;
  struct SwrFree {
    void operator()(SwrContext* s) const { swr_free(&s); }
  };
  struct FifoFree {
    void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
  };

  core::Status resampler_for(const AVFrame& f);
  core::Status resample(const uint8_t* const* data, int samples);  // data == nullptr drains
  core::Status encode_whole_frames(bool flush, std::vector<core::MediaPacket>& out);
  core::Status receive(std::vector<core::MediaPacket>& out);

  AudioEncoderSpec spec_;
  protocol::av::CodecContextPtr enc_;
  std::unique_ptr<protocol::av::AvToMedia> to_media_;
  core::MediaPacket config_;
  int frame_size_ = 0;
  std::unique_ptr<SwrContext, SwrFree> swr_;
  int in_format_ = -1, in_rate_ = 0;
  AVChannelLayout in_layout_{};
  std::unique_ptr<AVAudioFifo, FifoFree> fifo_;
  protocol::av::FramePtr frame_;  // the encoder's input frame, reused
  bool anchored_ = false;
  int64_t next_pts_ = 0;          // encoder time base (1/sample_rate): the FIFO head's pts
  int64_t in_end_ms_ = 0;         // where the input's last frame ended
  bool finished_ = false;
  Stats stats_;
};

}  // namespace weir::transcode
