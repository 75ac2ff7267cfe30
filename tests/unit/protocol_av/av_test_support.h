// Real FFmpeg encoders, decoders and the MP4 muxer/demuxer for the
// protocol_av tests: synthetic frames (a moving gradient, a sine) encoded with
// Debian's libavcodec, decoded back, muxed to and demuxed from memory.
// Functions REQUIRE what they need, so a failure points at the FFmpeg step.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <cstdint>
#include <string>
#include <vector>

#include "core/media_packet.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/av_to_media.h"

namespace weir::test {

// An encoder's output: its parameters, its time base and its packets.
struct Encoded {
  protocol::av::CodecParametersPtr par;
  AVRational time_base{1, 1};
  std::vector<protocol::av::PacketPtr> packets;
  int frames_in = 0;   // video frames fed
  int samples_in = 0;  // audio samples per channel fed
};

struct VideoOptions {
  int width = 128;
  int height = 72;
  int frames = 24;
  bool global_header = true;
  int max_b_frames = -1;  // encoder default
  // "key=value" pairs for av_opt_set on the encoder's private options.
  std::vector<std::pair<std::string, std::string>> options;
};

struct AudioOptions {
  int sample_rate = 48000;
  int channels = 2;
  int frames = 30;  // encoder frames' worth of samples
};

Encoded encode_video(const char* encoder, const VideoOptions& o);
Encoded encode_audio(const char* encoder, const AudioOptions& o);

// A decoded-audio frame of `samples` samples of a sine at `freq` Hz (amplitude
// 0.5, channel c at freq + 110 * c), continuing from sample `first_sample`, in
// any sample format (planar or packed, s16/s32/flt/dbl); pts as given.
protocol::av::FramePtr sine_frame(AVSampleFormat format, int sample_rate, int channels, int64_t first_sample,
                                  int samples, double freq, int64_t pts);

// What a decoder produced.
struct DecodedFrame {
  double pts_ms = 0;  // best-effort timestamp, in ms
  int width = 0;
  int height = 0;
  int samples = 0;
};

// Decodes `packets` (timestamps in `time_base`) with FFmpeg's default decoder
// for par->codec_id, flushing at the end.
std::vector<DecodedFrame> decode(const AVCodecParameters* par, AVRational time_base,
                                 const std::vector<protocol::av::PacketPtr>& packets);

// One stream for mux_mp4 / what demux_mp4 returns.
struct Stream {
  protocol::av::CodecParametersPtr par;
  AVRational time_base{1, 1000};
  std::vector<protocol::av::PacketPtr> packets;
};

// Fragmented MP4 in memory (libavformat's mov muxer), and back.
std::vector<uint8_t> mux_mp4(const std::vector<const Stream*>& streams);
std::vector<Stream> demux_mp4(const std::vector<uint8_t>& file);

// AvToMedia over a whole stream; REQUIREs every packet converts.
std::vector<core::MediaPacket> to_media(const AVCodecParameters& par, AVRational time_base,
                                        const std::vector<protocol::av::PacketPtr>& packets,
                                        protocol::av::AvToMedia::Stats* stats = nullptr);

std::vector<uint8_t> bytes(core::ByteView v);

// Copies of packets (AvToMedia/MediaToAv take and fill AVPackets).
std::vector<protocol::av::PacketPtr> clone_all(const std::vector<protocol::av::PacketPtr>& packets);
protocol::av::CodecParametersPtr clone(const AVCodecParameters* par);

}  // namespace weir::test
