#include "transcode/audio_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
}

#include <algorithm>

#include "protocol/av/codec_parameters.h"

namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

namespace {

Status av_fail(const char* what, int err) { return Status::errorf("audio {}: {}", what, av::av_error_text(err)); }

bool rate_listed(const AVCodec* c, int rate) {
  if (!c->supported_samplerates) return true;
  for (const int* r = c->supported_samplerates; *r; ++r)
    if (*r == rate) return true;
  return false;
}

// The encoder's preferred planar float format when it takes one (both do).
AVSampleFormat sample_format_for(const AVCodec* c) {
  if (!c->sample_fmts) return AV_SAMPLE_FMT_FLTP;
  for (const AVSampleFormat* f = c->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f)
    if (*f == AV_SAMPLE_FMT_FLTP) return *f;
  return c->sample_fmts[0];
}

}  // namespace

core::Result<std::unique_ptr<AudioEncoder>> AudioEncoder::open(const AudioEncoderSpec& spec) {
  const char* encoder = nullptr;
  if (spec.codec == "aac") encoder = "aac";
  else if (spec.codec == "opus") encoder = "libopus";
  else return Status::errorf("audio codec: '{}' is not one of aac, opus", spec.codec);
  if (spec.bitrate_kbps < kMinBitrateKbps || spec.bitrate_kbps > kMaxBitrateKbps)
    return Status::errorf("audio bitrate_kbps: {} is outside {}..{}", spec.bitrate_kbps, kMinBitrateKbps,
                          kMaxBitrateKbps);
  if (spec.channels < 1 || spec.channels > 2) return Status::errorf("audio channels: {} is not 1 or 2", spec.channels);
  const AVCodec* codec = avcodec_find_encoder_by_name(encoder);
  if (!codec) return Status::errorf("audio codec: the encoder {} is not in this FFmpeg build", encoder);
  if (spec.codec == "opus" ? spec.sample_rate != 48000 : !rate_listed(codec, spec.sample_rate))
    return Status::errorf("audio sample_rate: {} Hz cannot be encoded as {}", spec.sample_rate, spec.codec);

  std::unique_ptr<AudioEncoder> e(new AudioEncoder());
  e->spec_ = spec;
  e->enc_.reset(avcodec_alloc_context3(codec));
  e->frame_ = av::make_frame();
  if (!e->enc_ || !e->frame_) return Status::error("out of memory (audio encoder)");
  AVCodecContext* c = e->enc_.get();
  c->sample_rate = spec.sample_rate;
  av_channel_layout_default(&c->ch_layout, spec.channels);
  c->sample_fmt = sample_format_for(codec);
  c->time_base = AVRational{1, spec.sample_rate};
  c->bit_rate = int64_t(spec.bitrate_kbps) * 1000;
  c->thread_count = 1;
  c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  // libopus's default unconstrained VBR spends far above the setting on tonal
  // input; constrained VBR keeps a rendition's audio near its bitrate.
  if (spec.codec == "opus") av_dict_set(&opts, "vbr", "constrained", 0);
  int r = avcodec_open2(c, codec, &opts);
  av_dict_free(&opts);
  if (r < 0) return Status::errorf("audio codec: opening {}: {}", encoder, av::av_error_text(r));
  e->frame_size_ = c->frame_size > 0 ? c->frame_size : 1024;

  auto par = av::make_codec_parameters();
  if (!par) return Status::error("out of memory (audio encoder)");
  if ((r = avcodec_parameters_from_context(par.get(), c)) < 0) return av_fail("encoder parameters", r);
  auto conv = av::AvToMedia::create(*par, c->time_base);
  if (!conv) return Status::errorf("audio {}: {}", spec.codec, conv.error());
  if (!conv->config()) return Status::errorf("audio {}: the encoder gave no configuration", spec.codec);
  e->config_ = *conv->config();
  e->to_media_ = std::make_unique<av::AvToMedia>(std::move(*conv));
  e->fifo_.reset(av_audio_fifo_alloc(c->sample_fmt, spec.channels, e->frame_size_ * 2));
  if (!e->fifo_) return Status::error("out of memory (audio FIFO)");
  return e;
}

AudioEncoder::~AudioEncoder() { av_channel_layout_uninit(&in_layout_); }

core::MediaPacket AudioEncoder::config() const {
  core::MediaPacket c = config_;
  c.dts = c.pts = 0;
  return c;
}

Status AudioEncoder::resampler_for(const AVFrame& f) {
  if (swr_ && f.format == in_format_ && f.sample_rate == in_rate_ &&
      !av_channel_layout_compare(&f.ch_layout, &in_layout_))
    return Status::ok();
  if (f.sample_rate <= 0 || f.ch_layout.nb_channels <= 0 || f.format < 0)
    return Status::errorf("audio input: frame of {} Hz, {} channels, format {}", f.sample_rate,
                          f.ch_layout.nb_channels, f.format);
  if (swr_)  // what the old resampler still holds belongs before the new input
    if (auto st = resample(nullptr, 0); !st) return st;
  SwrContext* s = nullptr;
  // FFmpeg 5.1's prototype takes the input layout without const; it only reads it.
  auto* in_layout = const_cast<AVChannelLayout*>(&f.ch_layout);
  int r = swr_alloc_set_opts2(&s, &enc_->ch_layout, enc_->sample_fmt, enc_->sample_rate, in_layout,
                              AVSampleFormat(f.format), f.sample_rate, 0, nullptr);
  if (r < 0 || !s) return av_fail("resampler", r < 0 ? r : AVERROR(ENOMEM));
  swr_.reset(s);
  if ((r = swr_init(s)) < 0) {
    swr_.reset();
    return av_fail("resampler", r);
  }
  in_format_ = f.format;
  in_rate_ = f.sample_rate;
  av_channel_layout_uninit(&in_layout_);
  if ((r = av_channel_layout_copy(&in_layout_, &f.ch_layout)) < 0) return av_fail("resampler", r);
  stats_.resamplers++;
  return Status::ok();
}

Status AudioEncoder::resample(const uint8_t* const* data, int samples) {
  if (!swr_) return Status::ok();
  const int room = swr_get_out_samples(swr_.get(), samples);
  if (room < 0) return av_fail("resampler", room);
  if (room == 0) return Status::ok();
  uint8_t** buf = nullptr;
  int r = av_samples_alloc_array_and_samples(&buf, nullptr, spec_.channels, room, enc_->sample_fmt, 0);
  if (r < 0) return av_fail("resampler buffer", r);
  const int got = swr_convert(swr_.get(), buf, room, const_cast<const uint8_t**>(data), samples);
  Status st = Status::ok();
  if (got < 0) st = av_fail("resampling", got);
  else if (got > 0 && av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(buf), got) < got)
    st = Status::error("out of memory (audio FIFO)");
  av_freep(&buf[0]);
  av_freep(&buf);
  return st;
}

int AudioEncoder::priming_samples() const { return enc_->initial_padding; }

Status AudioEncoder::push(const AVFrame* f, std::vector<core::MediaPacket>& out) {
  if (finished_) return Status::error("audio encoder: push after the flush");
  if (!f) {
    finished_ = true;
    if (auto st = resample(nullptr, 0); !st) return st;
    return encode_whole_frames(true, out);
  }
  if (f->nb_samples <= 0) return Status::ok();
  if (f->nb_samples > kMaxInputSamples)
    return Status::errorf("audio input: a frame of {} samples (at most {})", f->nb_samples, kMaxInputSamples);
  if (auto st = resampler_for(*f); !st) return st;
  stats_.frames_in++;
  const int rate = spec_.sample_rate;
  if (f->pts != AV_NOPTS_VALUE) {
    const int64_t at = av_rescale(f->pts, rate, 1000);
    if (!anchored_) {
      // Priming goes before the first sample; never below 0.
      next_pts_ = std::max<int64_t>(at, enc_->initial_padding);
      anchored_ = true;
    } else if (f->pts > in_end_ms_ + kMaxGapMs) {
      const int64_t pending = av_audio_fifo_size(fifo_.get()) + swr_get_delay(swr_.get(), rate);
      if (at - pending > next_pts_) {
        next_pts_ = at - pending;
        stats_.gaps++;
      }
    }
    in_end_ms_ = f->pts + av_rescale(f->nb_samples, 1000, f->sample_rate);
  } else {
    anchored_ = true;
    in_end_ms_ += av_rescale(f->nb_samples, 1000, f->sample_rate);
  }
  if (auto st = resample(f->extended_data, f->nb_samples); !st) return st;
  return encode_whole_frames(false, out);
}

Status AudioEncoder::encode_whole_frames(bool flush, std::vector<core::MediaPacket>& out) {
  const bool small_last = enc_->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME;
  for (;;) {
    int have = av_audio_fifo_size(fifo_.get());
    if (have == 0 || (have < frame_size_ && !flush)) break;
    AVFrame* fr = frame_.get();
    av_frame_unref(fr);
    const int n = std::min(have, frame_size_);
    fr->nb_samples = small_last ? n : frame_size_;
    fr->format = enc_->sample_fmt;
    fr->sample_rate = enc_->sample_rate;
    if (int r = av_channel_layout_copy(&fr->ch_layout, &enc_->ch_layout); r < 0) return av_fail("frame", r);
    if (int r = av_frame_get_buffer(fr, 0); r < 0) return av_fail("frame", r);
    if (n < fr->nb_samples)  // a last partial frame the encoder wants whole: silence after it
      av_samples_set_silence(fr->extended_data, n, fr->nb_samples - n, spec_.channels, enc_->sample_fmt);
    if (av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(fr->extended_data), n) < n)
      return Status::error("audio FIFO read short");
    fr->pts = next_pts_;
    next_pts_ += n;
    if (int r = avcodec_send_frame(enc_.get(), fr); r < 0) return av_fail("encoding", r);
    if (auto st = receive(out); !st) return st;
  }
  if (flush) {
    if (int r = avcodec_send_frame(enc_.get(), nullptr); r < 0 && r != AVERROR_EOF) return av_fail("encoding", r);
    return receive(out);
  }
  return Status::ok();
}

Status AudioEncoder::receive(std::vector<core::MediaPacket>& out) {
  auto p = av::make_packet();
  if (!p) return Status::error("out of memory (audio packet)");
  std::vector<core::MediaPacket> made;
  for (;;) {
    int r = avcodec_receive_packet(enc_.get(), p.get());
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::ok();
    if (r < 0) return av_fail("encoding", r);
    if (p->pts == AV_NOPTS_VALUE || p->pts < 0) {  // cannot happen with the anchor above; never send it
      av_packet_unref(p.get());
      continue;
    }
    p->dts = p->pts;
    made.clear();
    Status st = to_media_->convert(*p, made);
    av_packet_unref(p.get());
    if (!st) return Status::errorf("audio {}: {}", spec_.codec, st.message());
    for (auto& m : made) {
      if (m.is_config()) continue;  // the same as config(): the caller sent it
      stats_.packets_out++;
      out.push_back(std::move(m));
    }
  }
}

}  // namespace weir::transcode
