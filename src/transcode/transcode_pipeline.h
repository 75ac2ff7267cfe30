// TranscodePipeline: the FFmpeg side of one transcode job: one VideoDecoder
// for the source, one libavfilter graph (buffer -> split -> per rendition
// scale [-> fps] -> format=yuv420p -> buffersink) and one VideoEncoder per
// rendition (libx264/libx265), plus the audio pass-through (copy).
//
// Input: the source's packets in hub order (configs, frames). Output: for
// each rendition the packets of its stream (its own video config and frames,
// the source's audio config and frames), in dts order per rendition.
//
// Keyframes: every source keyframe's pts is remembered; each rendition's first
// frame at or after it is encoded as an IDR (forced-idr, no scene-cut
// keyframes, a GOP cap of 10 s), so renditions switch and segment on the
// source's keyframes. Without an fps cap below the source's rate frames keep
// the source's pts exactly.
//
// Changes mid-stream: a new video config (codec or parameters) reopens the
// decoder; a decoded frame of another size or pixel format rebuilds the
// graph. Encoders stay open at the size they started with (the graph scales
// the new picture into it, aspect kept by padding), so the outputs go on.
//
// Audio is held until every rendition's video has caught up with it (encoders
// delay frames), so each output interleaves; at most kMaxHeldAudio packets
// wait (overflow action: the oldest goes out early).
//
// Thread: one thread at a time (the job's WorkerPool strand), never a loop.
// Errors: push() fails when the source cannot be transcoded (no decoder, the
// VideoDecoder's limits on undecodable packets, a graph or an encoder that
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
#include "transcode/rendition_spec.h"
#include "transcode/video_decoder.h"
#include "transcode/video_encoder.h"

namespace weir::transcode {

class TranscodePipeline {
 public:
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
  };

  TranscodePipeline(std::vector<RenditionSpec> specs, int encoder_threads);
  ~TranscodePipeline();
  TranscodePipeline(const TranscodePipeline&) = delete;
  TranscodePipeline& operator=(const TranscodePipeline&) = delete;

  // One source packet; appends what it produces to `out`.
  core::Status push(const core::MediaPacket& pkt, std::vector<Output>& out);
  // The source skipped packets (the job dropped them, or the ring lost them):
  // frames up to the next keyframe are not decoded.
  void skip_to_keyframe() { dec_.skip_to_keyframe(); }

  const Stats& stats() const { return stats_; }
  size_t renditions() const { return outs_.size(); }

 private:
  struct Rendition {
    RenditionSpec spec;
    std::unique_ptr<VideoEncoder> enc;
    AVFilterContext* sink = nullptr;
    std::deque<int64_t> key_pts;  // source keyframe pts (ms) not yet forced
    int64_t last_video_dts = INT64_MIN;
  };

  core::Status push_packet(const core::MediaPacket& pkt, std::vector<Output>& out);
  core::Status build_graph(const AVFrame& f);
  core::Status filter(AVFrame* f, std::vector<Output>& out);
  core::Status encode(size_t i, AVFrame* f, std::vector<Output>& out);
  core::Status open_encoder(size_t i, const AVFrame& f);
  void target_size(const Rendition& r, int src_w, int src_h, int& w, int& h) const;
  void release_audio(std::vector<Output>& out, bool all);

  std::vector<Rendition> outs_;
  int encoder_threads_;
  VideoDecoder dec_;

  struct GraphFree {
    void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
  };
  std::unique_ptr<AVFilterGraph, GraphFree> graph_;
  AVFilterContext* src_ = nullptr;
  int graph_w_ = 0, graph_h_ = 0, graph_fmt_ = -1;

  std::deque<core::MediaPacket> held_audio_;
  Stats stats_;
};

}  // namespace weir::transcode
