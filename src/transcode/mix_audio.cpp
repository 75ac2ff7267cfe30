#include "transcode/mix_audio.h"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
}

#include <fmt/format.h>

#include <algorithm>


namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

namespace {
constexpr AVRational kMs{1, 1000};
constexpr char kMixFormat[] = "sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo";
}  // namespace

MixAudio::MixAudio(MixSpec spec) : spec_(std::move(spec)) {}
MixAudio::~MixAudio() = default;

void MixAudio::push(const std::string& key, const core::MediaPacket& pkt) {
  Input& in = inputs_[key];
  Status st = in.dec.push(pkt, [&](AVFrame* f) { return queue(in, f); });
  if (!st) {
    // This input's audio is silent until its next config.
    stats_.input_errors++;
    in.dec = AudioDecoder();
  }
}

Status MixAudio::queue(Input& in, AVFrame* f) {
  char layout[128] = "";
  av_channel_layout_describe(&f->ch_layout, layout, sizeof layout);
  const std::string key = fmt::format("{}:{}:{}", f->sample_rate, f->format, layout);
  if (!in.resample || key != in.resample_key) {
    const char* fmt_name = av_get_sample_fmt_name(AVSampleFormat(f->format));
    auto g = FilterGraph::build(
        true,
        {{"in", fmt::format("time_base=1/{}:sample_rate={}:sample_fmt={}:channel_layout={}", f->sample_rate,
                            f->sample_rate, fmt_name ? fmt_name : "fltp", layout)}},
        fmt::format("[in]aresample={},aformat={}[out]", kRate, kMixFormat));
    if (!g) return Status::errorf("input resampler: {}", g.error());
    in.resample = std::move(*g);
    in.resample_key = key;
  }
  if (!in.fifo) {
    in.fifo.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, int(kMaxBacklogSamples)));
    if (!in.fifo) return Status::error("out of memory (audio fifo)");
  }
  // The decoder's pts (ms) into the resampler's time base (1/sample_rate).
  const int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
  f->pts = ts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale(ts, f->sample_rate, 1000);
  if (int e = av_buffersrc_add_frame_flags(in.resample->source(0), f, AV_BUFFERSRC_FLAG_KEEP_REF); e < 0)
    return Status::errorf("input resampler: {}", av::av_error_text(e));
  auto r = av::make_frame();
  if (!r) return Status::error("out of memory (audio frame)");
  const AVRational tb = av_buffersink_get_time_base(in.resample->sink());
  while (av_buffersink_get_frame(in.resample->sink(), r.get()) >= 0) {
    AVAudioFifo* fifo = in.fifo.get();
    const int64_t size = av_audio_fifo_size(fifo);
    if (r->pts != AV_NOPTS_VALUE) {
      const int64_t at = av_rescale_q(r->pts, tb, AVRational{1, kRate});
      const int64_t gap = at - (in.head + size);
      if (size == 0 || gap < -kJoinSamples || gap > kMaxBacklogSamples) {
        // Empty, a jump back, or a hole too long to fill: the FIFO starts at this frame.
        stats_.samples_dropped += uint64_t(size);
        av_audio_fifo_reset(fifo);
        in.head = at;
      } else if (gap > kJoinSamples) {  // a hole in the input's timestamps: silence in it
        auto hole = av::make_frame();
        if (!hole) return Status::error("out of memory (audio frame)");
        hole->format = AV_SAMPLE_FMT_FLTP;
        hole->nb_samples = int(gap);
        av_channel_layout_default(&hole->ch_layout, 2);
        if (av_frame_get_buffer(hole.get(), 0) < 0) return Status::error("out of memory (audio frame)");
        av_samples_set_silence(hole->extended_data, 0, int(gap), 2, AV_SAMPLE_FMT_FLTP);
        if (av_audio_fifo_write(fifo, reinterpret_cast<void**>(hole->extended_data), int(gap)) < gap)
          return Status::error("out of memory (audio fifo)");
      }
    }
    if (av_audio_fifo_write(fifo, reinterpret_cast<void**>(r->extended_data), r->nb_samples) < r->nb_samples)
      return Status::error("out of memory (audio fifo)");
    av_frame_unref(r.get());
    const int over = av_audio_fifo_size(fifo) - int(kMaxBacklogSamples);
    if (over > 0) {  // overflow action: the oldest go
      av_audio_fifo_drain(fifo, over);
      in.head += over;
      stats_.samples_dropped += uint64_t(over);
    }
  }
  return Status::ok();
}

bool MixAudio::take(Input& in, int64_t start, int n, AVFrame* f) {
  AVAudioFifo* fifo = in.fifo.get();
  int size = av_audio_fifo_size(fifo);
  if (size > 0 && in.head < start) {  // late: their time has passed
    const int late = int(std::min<int64_t>(size, start - in.head));
    av_audio_fifo_drain(fifo, late);
    in.head += late;
    size -= late;
    stats_.samples_dropped += uint64_t(late);
  }
  int pos = 0;
  if (size > 0 && in.head > start) pos = int(std::min<int64_t>(n, in.head - start));  // not come yet
  av_samples_set_silence(f->extended_data, 0, pos, 2, AV_SAMPLE_FMT_FLTP);
  int got = 0;
  if (pos < n && size > 0) {
    float* at[2] = {reinterpret_cast<float*>(f->extended_data[0]) + pos,
                    reinterpret_cast<float*>(f->extended_data[1]) + pos};
    got = std::max(0, av_audio_fifo_read(fifo, reinterpret_cast<void**>(at), n - pos));
    in.head += got;
  }
  if (pos + got < n) av_samples_set_silence(f->extended_data, pos + got, n - pos - got, 2, AV_SAMPLE_FMT_FLTP);
  return got > 0 && pos + got < n;
}

void MixAudio::lost(const std::string& key) { inputs_.erase(key); }

void MixAudio::set_spec(MixSpec spec) {
  spec_ = std::move(spec);
  std::map<std::string, Input> kept;
  for (const auto& in : spec_.inputs)
    if (auto it = inputs_.find(in.key()); it != inputs_.end()) kept.emplace(it->first, std::move(it->second));
  inputs_ = std::move(kept);
}

Status MixAudio::build_mix() {
  std::vector<FilterGraph::Source> sources;
  std::string desc, mixins;
  for (size_t i = 0; i < spec_.inputs.size(); ++i) {
    const auto& in = spec_.inputs[i];
    sources.push_back({fmt::format("a{}", i),
                       fmt::format("time_base=1/{}:sample_rate={}:sample_fmt=fltp:channel_layout=stereo", kRate, kRate)});
    desc += fmt::format("[a{}]volume={:.6f}:precision=float[g{}];", i, in.mute ? 0.0 : in.gain, i);
    mixins += fmt::format("[g{}]", i);
  }
  desc += fmt::format("{}amix=inputs={}:normalize=0:dropout_transition=0,aformat={}[out]", mixins, spec_.inputs.size(),
                      kMixFormat);
  auto g = FilterGraph::build(true, sources, desc);
  if (!g) return Status::errorf("audio mix graph: {}", g.error());
  mix_ = std::move(*g);
  return Status::ok();
}

Status MixAudio::tick(int64_t upto, const std::map<std::string, MixClock>& clocks,
                      std::vector<core::MediaPacket>& out) {
  const int64_t n = upto - done_;
  if (n <= 0) return Status::ok();
  if (!enc_) {
    AudioEncoderSpec as;
    as.codec = "aac";
    as.bitrate_kbps = spec_.audio_bitrate_kbps;
    as.sample_rate = kRate;
    as.channels = 2;
    auto enc = AudioEncoder::open(as);
    if (!enc) return Status::errorf("program audio encoder: {}", enc.error());
    enc_ = std::move(*enc);
    config_ = enc_->config();
  }
  std::string key;
  for (const auto& in : spec_.inputs) key += fmt::format("{}:{}|", in.mute ? 0.0 : in.gain, in.key());
  if (!mix_ || key != mix_key_) {
    mix_key_.clear();
    if (Status st = build_mix(); !st) return st;
    mix_key_ = key;
  }
  for (size_t i = 0; i < spec_.inputs.size(); ++i) {
    auto f = av::make_frame();
    if (!f) return Status::error("out of memory (audio frame)");
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = kRate;
    av_channel_layout_default(&f->ch_layout, 2);
    f->nb_samples = int(n);
    f->pts = done_;
    if (av_frame_get_buffer(f.get(), 0) < 0) return Status::error("out of memory (audio frame)");
    auto it = inputs_.find(spec_.inputs[i].key());
    auto clock = clocks.find(spec_.inputs[i].key());
    if (it != inputs_.end() && it->second.fifo && clock != clocks.end() && clock->second.anchored()) {
      // Program sample s plays input time s - offset; the encoder stamps sample k as k + priming.
      const int64_t start = done_ + enc_->priming_samples() - clock->second.offset() * (kRate / 1000);
      if (take(it->second, start, int(n), f.get())) stats_.underruns++;
    } else {
      av_samples_set_silence(f->extended_data, 0, int(n), 2, AV_SAMPLE_FMT_FLTP);
    }
    if (int e = av_buffersrc_add_frame_flags(mix_->source(i), f.get(), 0); e < 0)
      return Status::errorf("audio mix input: {}", av::av_error_text(e));
  }
  done_ = upto;
  auto m = av::make_frame();
  if (!m) return Status::error("out of memory (audio frame)");
  for (;;) {
    int e = av_buffersink_get_frame(mix_->sink(), m.get());
    if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) break;
    if (e < 0) return Status::errorf("audio mix output: {}", av::av_error_text(e));
    m->pts = av_rescale_q(m->pts, av_buffersink_get_time_base(mix_->sink()), kMs);
    const size_t before = out.size();
    Status st = enc_->push(m.get(), out);
    av_frame_unref(m.get());
    if (!st) return Status::errorf("program audio encoder: {}", st.message());
    stats_.frames_out += out.size() - before;
  }
  return Status::ok();
}

}  // namespace weir::transcode
