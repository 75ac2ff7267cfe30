#include "transcode/mix_video.h"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
}

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "transcode/mix_background.h"

namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

MixVideo::MixVideo(MixSpec spec, int encoder_threads) : spec_(std::move(spec)), encoder_threads_(encoder_threads) {}

MixVideo::~MixVideo() = default;

void MixVideo::push(const std::string& key, const core::MediaPacket& pkt) {
  Input& in = inputs_[key];
  if (pkt.is_config()) {
    in.config = pkt;
    in.have_config = true;
    if (!in.dec.configure(pkt)) {
      in.dec = VideoDecoder();  // an unusable config: nothing decodes until the next one
      stats_.input_resets++;
    }
    return;
  }
  if (!in.dec.admit(pkt)) return;
  Status st = in.dec.decode(pkt, [&](AVFrame* f) {
    const int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) return Status::ok();  // no time: not shown
    if (!in.waiting.empty() && ts < in.waiting.back().first) in.waiting.clear();  // its timestamps went back
    av::FramePtr copy(av_frame_clone(f));
    if (!copy) return Status::error("out of memory (input picture)");
    in.waiting.emplace_back(ts, std::move(copy));
    if (in.waiting.size() > kMaxQueued) {  // overflow action: the oldest waiting picture goes
      in.waiting.pop_front();
      stats_.frames_dropped++;
    }
    return Status::ok();
  });
  if (!st) {
    // The input's data cannot be decoded: start it afresh at its next keyframe.
    stats_.input_resets++;
    in.dec = VideoDecoder();
    if (in.have_config && !in.dec.configure(in.config)) in.have_config = false;
  }
}

void MixVideo::lost(const std::string& key) {
  auto it = inputs_.find(key);
  if (it == inputs_.end()) return;
  if (spec_.on_input_loss == MixInputLoss::kLastFrame && it->second.last) {
    // The picture stays up; the decoder starts afresh with the stream's next publish.
    it->second.dec = VideoDecoder();
    it->second.have_config = false;
    it->second.waiting.clear();
    return;
  }
  inputs_.erase(it);
}

void MixVideo::set_spec(MixSpec spec) {
  if (spec.background != spec_.background || spec.background_image != spec_.background_image) background_.reset();
  spec_ = std::move(spec);
  std::map<std::string, Input> kept;  // inputs no longer listed are dropped
  for (const auto& in : spec_.inputs)
    if (auto it = inputs_.find(in.key()); it != inputs_.end()) kept.emplace(it->first, std::move(it->second));
  inputs_ = std::move(kept);
}

bool MixVideo::shown(const std::string& key, int64_t now_ms) const {
  auto it = inputs_.find(key);
  if (it == inputs_.end() || !it->second.last) return false;
  return spec_.on_input_loss == MixInputLoss::kLastFrame || now_ms - it->second.last_ms <= kStaleMs;
}

Status MixVideo::make_background() {
  auto f = make_mix_background(spec_.width, spec_.height, spec_.background, spec_.background_image);
  if (!f && !spec_.background_image.empty()) {
    // The API checked the image; it went (or changed) since: the colour alone, not a failed program.
    spdlog::warn("mix {}: {}; the background is its colour alone", spec_.key(), f.error());
    stats_.background_errors++;
    f = make_mix_background(spec_.width, spec_.height, spec_.background, "");
  }
  if (!f) return f.status();
  background_ = std::move(*f);
  graph_.reset();
  return Status::ok();
}

Status MixVideo::build(const std::vector<std::pair<MixPlacement, const AVFrame*>>& shown) {
  std::vector<FilterGraph::Source> sources;
  sources.push_back({"bg", fmt::format("video_size={}x{}:pix_fmt={}:time_base=1/1000:pixel_aspect=1/1", spec_.width,
                                       spec_.height, background_->format)});
  std::string desc;
  std::string last = "bg";
  for (size_t i = 0; i < shown.size(); ++i) {
    const MixPlacement& p = shown[i].first;
    const AVFrame& f = *shown[i].second;
    const AVRational sar = f.sample_aspect_ratio.num > 0 ? f.sample_aspect_ratio : AVRational{1, 1};
    sources.push_back({fmt::format("in{}", i), fmt::format("video_size={}x{}:pix_fmt={}:time_base=1/1000:pixel_aspect={}/{}",
                                                           f.width, f.height, f.format, sar.num, sar.den)});
    // Aspect kept inside the rectangle, centred; the background shows around it.
    desc += fmt::format("[in{}]scale={}:{}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,"
                        "format=yuv420p[s{}];",
                        i, p.w, p.h, i);
    const std::string next = fmt::format("o{}", i);
    desc += fmt::format("[{}][s{}]overlay=x={}+({}-overlay_w)/2:y={}+({}-overlay_h)/2:format=yuv420[{}];", last, i,
                        p.x, p.w, p.y, p.h, next);
    last = next;
  }
  desc += fmt::format("[{}]format=yuv420p[out]", last);
  auto g = FilterGraph::build(false, sources, desc);
  if (!g) return Status::errorf("compose graph: {}", g.error());
  graph_ = std::move(*g);
  stats_.graph_builds++;
  return Status::ok();
}

void MixVideo::promote(Input& in, const MixClock& clock, int64_t pts_ms, int64_t now_ms) {
  while (!in.waiting.empty() && clock.to_program(in.waiting.front().first) <= pts_ms) {
    in.last = std::move(in.waiting.front().second);
    in.last_ms = now_ms;
    in.waiting.pop_front();
  }
}

Status MixVideo::tick(int64_t pts_ms, int64_t now_ms, const std::map<std::string, MixClock>& clocks,
                      std::vector<core::MediaPacket>& out) {
  for (auto& [key, in] : inputs_)
    if (auto c = clocks.find(key); c != clocks.end() && c->second.anchored()) promote(in, c->second, pts_ms, now_ms);
  if (!background_)
    if (Status st = make_background(); !st) return st;
  std::vector<std::pair<MixPlacement, const AVFrame*>> shown;
  std::string key = fmt::format("{}x{}", background_->width, background_->height);
  for (const MixPlacement& p : mix_placements(spec_)) {
    const std::string& name = spec_.inputs[p.input].key();
    if (!this->shown(name, now_ms)) continue;
    const AVFrame* f = inputs_.at(name).last.get();
    shown.emplace_back(p, f);
    key += fmt::format("|{}:{},{},{},{}:{}x{}:{}:{}/{}", p.input, p.x, p.y, p.w, p.h, f->width, f->height, f->format,
                       f->sample_aspect_ratio.num, f->sample_aspect_ratio.den);
  }
  if (!graph_ || key != graph_key_) {
    graph_key_.clear();
    if (Status st = build(shown); !st) return st;
    graph_key_ = key;
  }
  background_->pts = pts_ms;
  if (int e = av_buffersrc_add_frame_flags(graph_->source(0), background_.get(), AV_BUFFERSRC_FLAG_KEEP_REF); e < 0)
    return Status::errorf("compose input: {}", av::av_error_text(e));
  for (size_t i = 0; i < shown.size(); ++i) {
    AVFrame* f = const_cast<AVFrame*>(shown[i].second);
    f->pts = pts_ms;
    if (int e = av_buffersrc_add_frame_flags(graph_->source(i + 1), f, AV_BUFFERSRC_FLAG_KEEP_REF); e < 0)
      return Status::errorf("compose input: {}", av::av_error_text(e));
  }
  stats_.inputs_shown = shown.size();
  auto pic = av::make_frame();
  if (!pic) return Status::error("out of memory (program picture)");
  for (;;) {
    int e = av_buffersink_get_frame(graph_->sink(), pic.get());
    if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) break;
    if (e < 0) return Status::errorf("compose output: {}", av::av_error_text(e));
    if (!enc_) {
      VideoEncoderSpec vs = spec_.video;
      vs.threads = encoder_threads_;
      auto enc = VideoEncoder::open(vs, pic->width, pic->height, AVPixelFormat(pic->format), AVRational{spec_.fps, 1});
      if (!enc) return Status::errorf("program encoder: {}", enc.error());
      enc_ = std::move(*enc);
    }
    pic->pts = pts_ms;
    Status st = enc_->encode(pic.get(), false, out);
    av_frame_unref(pic.get());
    if (!st) return Status::errorf("program encoder: {}", st.message());
    stats_.frames_out++;
  }
  return Status::ok();
}

}  // namespace weir::transcode
