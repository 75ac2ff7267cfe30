#include "transcode/video_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
}

#include <algorithm>

namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

namespace {
constexpr AVRational kMs{1, 1000};
}

VideoEncoder::~VideoEncoder() = default;

core::Result<std::unique_ptr<VideoEncoder>> VideoEncoder::open(const VideoEncoderSpec& spec, int width, int height,
                                                               AVPixelFormat format, AVRational rate) {
  const AVCodec* codec = avcodec_find_encoder_by_name(spec.codec.c_str());
  if (!codec) return Status::errorf("encoder {} is not available", spec.codec);
  av::CodecContextPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return Status::error("out of memory (encoder)");
  if (rate.num <= 0 || rate.den <= 0) rate = AVRational{30, 1};
  const int64_t maxrate = spec.maxrate_kbps > 0 ? spec.maxrate_kbps : spec.bitrate_kbps;
  enc->width = width;
  enc->height = height;
  enc->pix_fmt = format;
  enc->sample_aspect_ratio = AVRational{1, 1};
  enc->time_base = kMs;
  enc->framerate = rate;
  const int64_t fps = std::max<int64_t>(1, int64_t(av_q2d(rate) + 0.5));
  enc->gop_size = spec.gop_frames > 0 ? spec.gop_frames : int(fps * 10);
  enc->bit_rate = spec.bitrate_kbps * 1000;
  enc->rc_max_rate = maxrate * 1000;
  enc->rc_buffer_size = int(maxrate * 1000);
  enc->thread_count = std::max(1, spec.threads);
  enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "preset", spec.preset.c_str(), 0);
  if (!spec.profile.empty()) av_dict_set(&opts, "profile", spec.profile.c_str(), 0);
  av_dict_set(&opts, "forced-idr", "1", 0);
  if (spec.codec == "libx265") {
    av_dict_set(&opts, "x265-params", "scenecut=0:log-level=error:repeat-headers=0", 0);
  } else {
    av_dict_set(&opts, "x264-params", "scenecut=0", 0);
  }
  int e = avcodec_open2(enc.get(), codec, &opts);
  av_dict_free(&opts);
  if (e < 0) return Status::errorf("opening {}: {}", spec.codec, av::av_error_text(e));
  auto par = av::make_codec_parameters();
  if (!par) return Status::error("out of memory (encoder parameters)");
  if ((e = avcodec_parameters_from_context(par.get(), enc.get())) < 0)
    return Status::errorf("encoder parameters: {}", av::av_error_text(e));
  auto conv = av::AvToMedia::create(*par, kMs);
  if (!conv) return Status::error(conv.error());
  std::unique_ptr<VideoEncoder> v(new VideoEncoder());
  v->enc_ = std::move(enc);
  v->to_media_ = std::move(*conv);
  return v;
}

int VideoEncoder::width() const { return enc_->width; }
int VideoEncoder::height() const { return enc_->height; }

Status VideoEncoder::encode(AVFrame* f, bool key, std::vector<core::MediaPacket>& out) {
  if (f) {
    if (f->width != enc_->width || f->height != enc_->height)
      return Status::errorf("a {}x{} picture for a {}x{} encoder", f->width, f->height, enc_->width, enc_->height);
    f->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  }
  int e = avcodec_send_frame(enc_.get(), f);
  if (e < 0 && e != AVERROR_EOF) return Status::errorf("encoding: {}", av::av_error_text(e));
  auto p = av::make_packet();
  if (!p) return Status::error("out of memory (encoder packet)");
  for (;;) {
    e = avcodec_receive_packet(enc_.get(), p.get());
    if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) break;
    if (e < 0) return Status::errorf("encoding: {}", av::av_error_text(e));
    // B-frames make the first dts precede the first pts; FLV and RTMP have no
    // negative time, so those go out at 0 (dts stays non-decreasing, pts as is).
    if (p->dts != AV_NOPTS_VALUE && p->dts < 0 && p->pts != AV_NOPTS_VALUE && p->pts >= 0) p->dts = 0;
    const size_t before = out.size();
    Status st = to_media_->convert(*p, out);
    av_packet_unref(p.get());
    if (!st) return st;
    for (size_t i = before; i < out.size(); ++i)
      if (!out[i].is_config()) frames_out_++;
  }
  return Status::ok();
}

}  // namespace weir::transcode
