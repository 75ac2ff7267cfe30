#include "transcode/transcode_pipeline.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <tuple>

#include "transcode/watermark_graph.h"

namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

namespace {
constexpr AVRational kMs{1, 1000};

Status av_fail(const char* what, int err) { return Status::errorf("{}: {}", what, protocol::av::av_error_text(err)); }

int even(int64_t v) { return int(std::max<int64_t>(2, v & ~int64_t(1))); }
}  // namespace

std::pair<int, int> rendition_size(const core::RenditionConfig& c, int src_w, int src_h) {
  if (c.width <= 0 && c.height <= 0) return {even(src_w), even(src_h)};  // the source's size (watermark output)
  if (c.width > 0 && c.height > 0) return {even(c.width), even(c.height)};
  if (c.height > 0) return {even((int64_t(src_w) * c.height + src_h / 2) / std::max(1, src_h)), even(c.height)};
  return {even(c.width), even((int64_t(src_h) * c.width + src_w / 2) / std::max(1, src_w))};
}

TranscodePipeline::TranscodePipeline(std::vector<RenditionSpec> specs, int encoder_threads)
    : encoder_threads_(std::max(1, encoder_threads)) {
  outs_.reserve(specs.size());
  for (auto& s : specs) {
    (s.cfg.audio == "copy" ? copied_audio_ : encoded_audio_) = true;
    outs_.push_back(Rendition{std::move(s), nullptr, nullptr, nullptr, {}, INT64_MIN});
  }
}

TranscodePipeline::~TranscodePipeline() = default;

Status TranscodePipeline::push(const core::MediaPacket& pkt, std::vector<Output>& out) {
  Status st = push_packet(pkt, out);
  const auto& d = dec_.stats();
  stats_.frames_in = d.frames;
  stats_.decode_errors = d.errors;
  stats_.reopens = d.reopens;
  return st;
}

Status TranscodePipeline::push_packet(const core::MediaPacket& pkt, std::vector<Output>& out) {
  if (pkt.is_audio()) return push_audio(pkt, out);
  if (!pkt.is_video()) return Status::ok();  // onMetaData: each output makes its own
  if (pkt.is_config()) return dec_.configure(pkt);
  if (!dec_.admit(pkt)) return Status::ok();  // no config yet, or waiting for a keyframe
  if (pkt.is_keyframe())
    for (auto& r : outs_) {
      if (r.key_pts.size() >= kMaxKeyPts) r.key_pts.pop_front();
      r.key_pts.push_back(pkt.pts);
    }
  return dec_.decode(pkt, [&](AVFrame* f) { return filter(f, out); });
}

void TranscodePipeline::target_size(const Rendition& r, int src_w, int src_h, int& w, int& h) const {
  if (r.enc) {  // the encoder's size holds for the job's life
    w = r.enc->width();
    h = r.enc->height();
    return;
  }
  std::tie(w, h) = rendition_size(r.spec.cfg, src_w, src_h);
}

Status TranscodePipeline::build_graph(const AVFrame& f) {
  if (!watermark_) return build_graph(f, nullptr);
  graph_wm_version_ = watermark_->version();
  const WatermarkSlot::State wm = watermark_->get();
  if (wm.spec->empty()) return build_graph(f, nullptr);
  Status st = build_graph(f, wm.spec.get());
  if (st) return st;
  // Blocking work is fine here (the pool); the outputs go on without it.
  stats_.watermark_errors++;
  spdlog::warn("transcode {}: watermark not drawn (until it is changed): {}", label_, st.message());
  return build_graph(f, nullptr);
}

Status TranscodePipeline::build_graph(const AVFrame& f, const WatermarkSpec* wm) {
  graph_.reset(avfilter_graph_alloc());
  if (!graph_) return Status::error("out of memory (filter graph)");
  graph_->nb_threads = 1;
  src_ = nullptr;
  for (auto& r : outs_) r.sink = nullptr;
  const AVRational sar = f.sample_aspect_ratio.num > 0 ? f.sample_aspect_ratio : AVRational{1, 1};
  const std::string src_args = fmt::format("video_size={}x{}:pix_fmt={}:time_base=1/1000:pixel_aspect={}/{}", f.width,
                                           f.height, f.format, sar.num, sar.den);
  if (int e = avfilter_graph_create_filter(&src_, avfilter_get_by_name("buffer"), "in", src_args.c_str(), nullptr,
                                           graph_.get());
      e < 0)
    return av_fail("filter graph source", e);
  AVFilterContext* head = src_;  // what the split reads: the source, or the watermark drawn on it
  if (wm) {
    auto r = add_watermark(graph_.get(), src_, f.width, f.height, *wm);
    if (!r) return r.status();
    head = *r;
  }
  // [in] split=N [s0]..; [si] scale=W:H (aspect kept, padded) [, fps=F] , format=yuv420p [outi]
  std::string desc = fmt::format("[in]split={}", outs_.size());
  for (size_t i = 0; i < outs_.size(); ++i) desc += fmt::format("[s{}]", i);
  const AVRational src_rate = dec_.frame_rate();
  const double src_fps = src_rate.num > 0 ? av_q2d(src_rate) : 0;
  AVFilterInOut* inputs = nullptr;  // the graph's open outputs: our sinks
  for (size_t i = 0; i < outs_.size(); ++i) {
    Rendition& r = outs_[i];
    int w = 0, h = 0;
    target_size(r, f.width, f.height, w, h);
    desc += fmt::format(";[s{}]scale={}:{}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                        "pad={}:{}:(ow-iw)/2:(oh-ih)/2,setsar=1",
                        i, w, h, w, h);
    if (r.spec.cfg.fps > 0 && (src_fps == 0 || src_fps > double(r.spec.cfg.fps) + 0.01))
      desc += fmt::format(",fps={}", r.spec.cfg.fps);
    desc += fmt::format(",format=yuv420p[out{}]", i);
    const std::string name = fmt::format("out{}", i);
    if (int e = avfilter_graph_create_filter(&r.sink, avfilter_get_by_name("buffersink"), name.c_str(), nullptr,
                                             nullptr, graph_.get());
        e < 0) {
      avfilter_inout_free(&inputs);
      return av_fail("filter graph sink", e);
    }
    AVFilterInOut* io = avfilter_inout_alloc();
    if (!io) {
      avfilter_inout_free(&inputs);
      return Status::error("out of memory (filter graph)");
    }
    io->name = av_strdup(name.c_str());
    io->filter_ctx = r.sink;
    io->pad_idx = 0;
    io->next = inputs;
    inputs = io;
  }
  AVFilterInOut* outputs = avfilter_inout_alloc();  // the graph's open inputs: our source
  if (!outputs) {
    avfilter_inout_free(&inputs);
    return Status::error("out of memory (filter graph)");
  }
  outputs->name = av_strdup("in");
  outputs->filter_ctx = head;
  outputs->pad_idx = 0;
  outputs->next = nullptr;
  int e = avfilter_graph_parse_ptr(graph_.get(), desc.c_str(), &inputs, &outputs, nullptr);
  avfilter_inout_free(&inputs);
  avfilter_inout_free(&outputs);
  if (e < 0) return av_fail("filter graph", e);
  if ((e = avfilter_graph_config(graph_.get(), nullptr)) < 0) return av_fail("filter graph", e);
  graph_w_ = f.width;
  graph_h_ = f.height;
  graph_fmt_ = f.format;
  stats_.graph_builds++;
  return Status::ok();
}

Status TranscodePipeline::filter(AVFrame* f, std::vector<Output>& out) {
  if (!graph_ || f->width != graph_w_ || f->height != graph_h_ || f->format != graph_fmt_ ||
      (watermark_ && watermark_->version() != graph_wm_version_))
    if (auto st = build_graph(*f); !st) return st;
  if (int e = av_buffersrc_add_frame_flags(src_, f, AV_BUFFERSRC_FLAG_KEEP_REF); e < 0) return av_fail("filter input", e);
  auto filtered = av::make_frame();
  if (!filtered) return Status::error("out of memory (filtered frame)");
  for (size_t i = 0; i < outs_.size(); ++i) {
    for (;;) {
      int e = av_buffersink_get_frame(outs_[i].sink, filtered.get());
      if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) break;
      if (e < 0) return av_fail("filter output", e);
      Status st = encode(i, filtered.get(), out);
      av_frame_unref(filtered.get());
      if (!st) return st;
    }
  }
  release_audio(out, false);
  return Status::ok();
}

Status TranscodePipeline::open_encoder(size_t i, const AVFrame& f) {
  Rendition& r = outs_[i];
  const auto& c = r.spec.cfg;
  AVRational rate = av_buffersink_get_frame_rate(r.sink);
  if (rate.num <= 0 || rate.den <= 0) rate = dec_.frame_rate().num > 0 ? dec_.frame_rate() : AVRational{30, 1};
  VideoEncoderSpec vs;
  vs.codec = c.video_codec;
  vs.preset = c.preset;
  vs.profile = c.profile;
  vs.bitrate_kbps = c.bitrate_kbps;
  vs.maxrate_kbps = c.peak_kbps();
  vs.threads = encoder_threads_;  // gop_frames 0 (10 s): keyframes come from the source's, this caps a GOP
  auto enc = VideoEncoder::open(vs, f.width, f.height, AVPixelFormat(f.format), rate);
  if (!enc) return Status::errorf("rendition {}: {}", r.spec.name, enc.error());
  r.enc = std::move(*enc);
  return Status::ok();
}

Status TranscodePipeline::encode(size_t i, AVFrame* f, std::vector<Output>& out) {
  Rendition& r = outs_[i];
  const AVRational tb = av_buffersink_get_time_base(r.sink);
  if (!r.enc)
    if (auto st = open_encoder(i, *f); !st) return st;
  if (f->width != r.enc->width() || f->height != r.enc->height()) return Status::ok();  // cannot happen: the graph pads to it
  f->pts = av_rescale_q_rnd(f->pts, tb, kMs, AVRounding(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
  bool forced = false;
  while (!r.key_pts.empty() && r.key_pts.front() <= f->pts) {
    r.key_pts.pop_front();
    forced = true;
  }
  std::vector<core::MediaPacket> made;
  if (Status st = r.enc->encode(f, forced, made); !st) return Status::errorf("rendition {}: {}", r.spec.name, st.message());
  for (auto& m : made) {
    if (!m.is_config()) {
      stats_.frames_out++;
      r.last_video_dts = m.dts;
    }
    out.push_back(Output{i, std::move(m)});
  }
  return Status::ok();
}

Status TranscodePipeline::push_audio(const core::MediaPacket& pkt, std::vector<Output>& out) {
  // Copy: the source's audio goes to the `copy` renditions as it is; encoded
  // renditions get theirs from the shared decoder. Both wait for the video
  // (or go at once while there is no video).
  if (copied_audio_) held_audio_.push_back(Held{kCopy, pkt});
  if (encoded_audio_) {
    Status st = audio_dec_.push(pkt, [this](AVFrame* f) -> Status {
      for (size_t i = 0; i < outs_.size(); ++i)
        if (outs_[i].spec.cfg.audio != "copy")
          if (Status e = encode_audio(i, *f); !e) return e;
      return Status::ok();
    });
    const auto& d = audio_dec_.stats();
    stats_.audio_frames_in = d.frames;
    stats_.audio_decode_errors = d.errors;
    stats_.audio_reopens = d.reopens;
    if (!st) return Status::errorf("source audio decoder: {}", st.message());
  }
  release_audio(out, !dec_.open());
  return Status::ok();
}

Status TranscodePipeline::encode_audio(size_t i, const AVFrame& f) {
  Rendition& r = outs_[i];
  if (!r.audio) {
    // The source's rate where the codec takes it (AAC), else 48 kHz; mono stays mono, more goes down to stereo.
    static const int kAacRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000};
    AudioEncoderSpec as;
    as.codec = r.spec.cfg.audio;
    as.bitrate_kbps = int(r.spec.cfg.audio_bitrate_kbps);
    as.channels = f.ch_layout.nb_channels == 1 ? 1 : 2;
    as.sample_rate = 48000;
    if (as.codec == "aac" && std::find(std::begin(kAacRates), std::end(kAacRates), f.sample_rate) != std::end(kAacRates))
      as.sample_rate = f.sample_rate;
    auto enc = AudioEncoder::open(as);
    if (!enc) return Status::errorf("rendition {}: {}", r.spec.name, enc.error());
    r.audio = std::move(*enc);
    core::MediaPacket c = r.audio->config();
    c.dts = c.pts = f.pts == AV_NOPTS_VALUE ? 0 : f.pts;
    held_audio_.push_back(Held{i, std::move(c)});
  }
  std::vector<core::MediaPacket> made;
  if (auto st = r.audio->push(&f, made); !st) return Status::errorf("rendition {}: {}", r.spec.name, st.message());
  for (auto& m : made) held_audio_.push_back(Held{i, std::move(m)});
  return Status::ok();
}

void TranscodePipeline::release_audio(std::vector<Output>& out, bool all) {
  int64_t upto = INT64_MAX;
  if (!all)
    for (const auto& r : outs_) upto = std::min(upto, r.last_video_dts);
  const size_t cap = kMaxHeldAudio * outs_.size();
  while (!held_audio_.empty() && (held_audio_.front().pkt.dts <= upto || held_audio_.size() > cap)) {
    Held& h = held_audio_.front();
    if (h.rendition != kCopy) {
      out.push_back(Output{h.rendition, std::move(h.pkt)});
    } else {
      for (size_t i = 0; i < outs_.size(); ++i)
        if (outs_[i].spec.cfg.audio == "copy") out.push_back(Output{i, h.pkt});
    }
    held_audio_.pop_front();
  }
}

}  // namespace weir::transcode
