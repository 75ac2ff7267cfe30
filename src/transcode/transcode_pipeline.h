// TranscodePipeline: the FFmpeg side of one transcode job: one VideoDecoder
// for the source, one libavfilter graph (buffer -> split -> per rendition
// scale [-> fps] -> format=yuv420p -> buffersink) and one VideoEncoder per
// rendition (libx264/libx265); for audio, the source's packets copied to the
// renditions with `audio: copy`, and for those with `audio: aac|opus` one
// audio decoder for the source (shared by all of them) and one AudioEncoder
// each (resampling inside).
//
// Input: the source's packets in hub order (configs, frames). Output: for
// each rendition the packets of its stream (its own video config and frames;
// the source's audio config and frames, or its own audio config and frames),
// in dts order per rendition.
//
// Keyframes: every source keyframe's pts is remembered; each rendition's first
// frame at or after it is encoded as an IDR (forced-idr, no scene-cut
// keyframes, a GOP cap of 10 s), so renditions switch and segment on the
// source's keyframes. Without an fps cap below the source's rate frames keep
// the source's pts exactly.
//
// Watermark (optional, set_watermark): drawn on the decoded picture before
// the split (transcode/watermark_graph.h), so every output carries it. A
// change of the slot's version rebuilds the graph at the next frame, encoders
// kept open; a watermark that cannot be drawn (image gone, font unusable) is
// logged and the graph is built without it until the next change.
//
// Changes mid-stream: a new video config (codec or parameters) reopens the
// decoder; a decoded frame of another size or pixel format rebuilds the
// graph. Encoders stay open at the size they started with (the graph scales
// the new picture into it, aspect kept by padding), so the outputs go on. A
// new audio config reopens the audio decoder; the audio encoders keep their
// rate and layout (their resamplers follow the new input).
//
// Audio (copied or encoded) is held until every rendition's video has caught
// up with it (encoders delay frames), so each output interleaves; at most
// kMaxHeldAudio packets per rendition wait (overflow action: the oldest goes
// out early). Undecodable audio packets are skipped and counted;
// kMaxDecodeErrors in a row fail the job like video.
//
// Thread: one thread at a time (the job's WorkerPool strand), never a loop.
// Errors: push() fails when the source cannot be transcoded (no decoder (video,
// or audio for an encoded rendition), the VideoDecoder's limits on
// undecodable packets, kMaxDecodeErrors undecodable audio packets in a row, a
// graph or an encoder that
// cannot be made); the message says why. The job then fails.
#pragma once

extern "C" {
#include <libavfilter/avfilter.h>
}

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/media_to_av.h"
#include "transcode/audio_decoder.h"
#include "transcode/audio_encoder.h"
#include "transcode/rendition_spec.h"
#include "transcode/video_decoder.h"
#include "transcode/video_encoder.h"
#include "transcode/watermark_board.h"

namespace weir::transcode {

class TranscodePipeline {
 public:
  static constexpr int kMaxDecodeErrors = VideoDecoder::kMaxDecodeErrors;  // audio packets too
  static constexpr size_t kMaxHeldAudio = 512;
  static constexpr size_t kMaxKeyPts = 64;

  struct Output {
    size_t rendition = 0;  // index into the specs
    core::MediaPacket pkt;
  };
  struct Stats {
    uint64_t frames_in = 0;       // source video frames decoded
    uint64_t frames_out = 0;      // encoded video frames, all renditions
    uint64_t decode_errors = 0;   // packets the decoder refused
    uint64_t reopens = 0;         // decoder reopened for a new config
    uint64_t graph_builds = 0;    // filter graph (re)built
    uint64_t audio_frames_in = 0;       // source audio frames decoded (for encoded renditions)
    uint64_t audio_decode_errors = 0;   // audio packets the decoder refused
    uint64_t audio_reopens = 0;         // audio decoder reopened for a new config
    uint64_t watermark_errors = 0;  // graphs built without the watermark: it could not be drawn
  };

  TranscodePipeline(std::vector<RenditionSpec> specs, int encoder_threads);
  ~TranscodePipeline();
  TranscodePipeline(const TranscodePipeline&) = delete;
  TranscodePipeline& operator=(const TranscodePipeline&) = delete;

  // One source packet; appends what it produces to `out`.
  core::Status push(const core::MediaPacket& pkt, std::vector<Output>& out);
  // The watermark to draw (null: none). Before the first push. `label`
  // names the job in log lines.
  void set_watermark(std::shared_ptr<const WatermarkSlot> slot, std::string label) {
    watermark_ = std::move(slot);
    label_ = std::move(label);
  }
  // The source skipped packets (the job dropped them, or the ring lost them):
  // frames up to the next keyframe are not decoded.
  void skip_to_keyframe() { dec_.skip_to_keyframe(); }

  const Stats& stats() const { return stats_; }
  size_t renditions() const { return outs_.size(); }

 private:
  struct Rendition {
    RenditionSpec spec;
    std::unique_ptr<AudioEncoder> audio;  // audio aac|opus, from the first decoded audio frame
    std::unique_ptr<VideoEncoder> enc;
    AVFilterContext* sink = nullptr;
    std::deque<int64_t> key_pts;  // source keyframe pts (ms) not yet forced
    int64_t last_video_dts = INT64_MIN;
  };

  core::Status push_packet(const core::MediaPacket& pkt, std::vector<Output>& out);
  core::Status build_graph(const AVFrame& f);
  core::Status build_graph(const AVFrame& f, const WatermarkSpec* wm);
  core::Status filter(AVFrame* f, std::vector<Output>& out);
  core::Status encode(size_t i, AVFrame* f, std::vector<Output>& out);
  core::Status open_encoder(size_t i, const AVFrame& f);
  void target_size(const Rendition& r, int src_w, int src_h, int& w, int& h) const;
  void release_audio(std::vector<Output>& out, bool all);
  bool encodes_audio() const { return encoded_audio_; }
  core::Status push_audio(const core::MediaPacket& pkt, std::vector<Output>& out);
  core::Status encode_audio(size_t i, const AVFrame& f);

  std::vector<Rendition> outs_;
  int encoder_threads_;
  VideoDecoder dec_;

  struct GraphFree {
    void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
  };
  std::unique_ptr<AVFilterGraph, GraphFree> graph_;
  AVFilterContext* src_ = nullptr;
  int graph_w_ = 0, graph_h_ = 0, graph_fmt_ = -1;
  std::shared_ptr<const WatermarkSlot> watermark_;
  std::string label_;
  uint64_t graph_wm_version_ = 0;  // the slot's version the graph was built with

  // Audio waiting for the renditions' video: a copied source packet (for
  // every `copy` rendition, kept once) or one rendition's encoded packet.
  static constexpr size_t kCopy = SIZE_MAX;
  struct Held {
    size_t rendition = kCopy;
    core::MediaPacket pkt;
  };
  std::deque<Held> held_audio_;
  bool copied_audio_ = false;   // some rendition copies the source's audio
  bool encoded_audio_ = false;  // some rendition encodes it
  AudioDecoder audio_dec_;  // the source's, shared by every encoded rendition
  Stats stats_;
};

}  // namespace weir::transcode
