#include "protocol/av/picture_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <memory>

namespace weir::protocol::av {

namespace {

struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

core::Status av_fail(std::string_view what, const char* doing, int err) {
  return core::Status::errorf("{}: {}: {}", what, doing, av_error_text(err));
}

// swscale takes the YUVJ formats as their YUV twins plus a full-range flag
// (given YUVJ it converts all the same but logs a deprecation warning).
AVPixelFormat plain_format(AVPixelFormat f, bool& full_range) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P: full_range = true; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: full_range = true; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: full_range = true; return AV_PIX_FMT_YUV444P;
    default: return f;
  }
}

}  // namespace

std::string_view picture_content_type(PictureFormat f) { return f == PictureFormat::kPng ? "image/png" : "image/jpeg"; }
std::string_view picture_extension(PictureFormat f) { return f == PictureFormat::kPng ? "png" : "jpg"; }

void picture_size(int src_w, int src_h, AVRational sar, int max_width, int& w, int& h) {
  double display_w = src_w;
  if (sar.num > 0 && sar.den > 0) display_w = double(src_w) * sar.num / sar.den;
  double out_w = display_w < max_width ? display_w : max_width;
  double out_h = display_w > 0 ? double(src_h) * out_w / display_w : 0;
  w = int(out_w + 0.5) & ~1;
  h = int(out_h + 0.5) & ~1;
  if (w < 2) w = 2;
  if (h < 2) h = 2;
}

core::Result<PacketPtr> encode_picture(const AVFrame& src, PictureFormat format, int max_width,
                                       std::string_view what) {
  if (max_width < 2) return core::Status::errorf("{}: width {} is below 2", what, max_width);
  if (src.width <= 0 || src.height <= 0 || src.width > kMaxPictureDimension || src.height > kMaxPictureDimension)
    return core::Status::errorf("{}: picture size {}x{} out of range", what, src.width, src.height);
  int w = 0, h = 0;
  picture_size(src.width, src.height, src.sample_aspect_ratio, max_width, w, h);
  if (w > kMaxPictureDimension || h > kMaxPictureDimension)
    return core::Status::errorf("{}: picture size {}x{} out of range", what, w, h);

  bool src_full = src.color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat src_fmt = plain_format(AVPixelFormat(src.format), src_full);
  const bool png = format == PictureFormat::kPng;
  const AVPixelFormat dst_fmt = png ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUV420P;
  // Ranges go in before sws_init_context: set afterwards
  // (sws_setColorspaceDetails), an unscaled same-format conversion keeps the
  // plain-copy path it chose and ignores them. (swscale converts the range
  // only, not a BT.709 matrix to JPEG's BT.601: a slight hue shift at most.)
  SwsPtr sws(sws_alloc_context());
  if (!sws) return core::Status::errorf("{}: out of memory", what);
  av_opt_set_int(sws.get(), "srcw", src.width, 0);
  av_opt_set_int(sws.get(), "srch", src.height, 0);
  av_opt_set_int(sws.get(), "src_format", src_fmt, 0);
  av_opt_set_int(sws.get(), "src_range", src_full ? 1 : 0, 0);
  av_opt_set_int(sws.get(), "dstw", w, 0);
  av_opt_set_int(sws.get(), "dsth", h, 0);
  av_opt_set_int(sws.get(), "dst_format", dst_fmt, 0);
  av_opt_set_int(sws.get(), "dst_range", 1, 0);
  av_opt_set_int(sws.get(), "sws_flags", SWS_BICUBIC, 0);
  if (sws_init_context(sws.get(), nullptr, nullptr) < 0) {
    const char* name = av_get_pix_fmt_name(AVPixelFormat(src.format));
    return core::Status::errorf("{}: cannot scale {} {}x{}", what, name ? name : "?", src.width, src.height);
  }

  FramePtr out = make_frame();
  if (!out) return core::Status::errorf("{}: out of memory", what);
  // JPEG: the YUV420P layout swscale writes, full range.
  out->format = png ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUVJ420P;
  out->width = w;
  out->height = h;
  if (int rc = av_frame_get_buffer(out.get(), 0); rc < 0) return av_fail(what, "allocating the picture", rc);
  out->color_range = AVCOL_RANGE_JPEG;
  if (int rc = sws_scale(sws.get(), src.data, src.linesize, 0, src.height, out->data, out->linesize); rc <= 0)
    return core::Status::errorf("{}: scaling failed", what);

  const AVCodec* codec = avcodec_find_encoder(png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
  if (!codec) return core::Status::errorf("{}: this FFmpeg has no {} encoder", what, png ? "PNG" : "JPEG");
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return core::Status::errorf("{}: out of memory", what);
  enc->width = w;
  enc->height = h;
  enc->pix_fmt = AVPixelFormat(out->format);
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = AVRational{1, 25};
  if (!png) {
    // Fixed quantiser 3 (of 2..31): a sharp picture at a few tens of KB.
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 3;
    out->quality = enc->global_quality;
  }
  out->pict_type = AV_PICTURE_TYPE_I;
  if (int rc = avcodec_open2(enc.get(), codec, nullptr); rc < 0) return av_fail(what, "opening the encoder", rc);
  if (int rc = avcodec_send_frame(enc.get(), out.get()); rc < 0) return av_fail(what, "encoding", rc);
  if (int rc = avcodec_send_frame(enc.get(), nullptr); rc < 0) return av_fail(what, "encoding", rc);
  PacketPtr pkt = make_packet();
  if (!pkt) return core::Status::errorf("{}: out of memory", what);
  if (int rc = avcodec_receive_packet(enc.get(), pkt.get()); rc < 0) return av_fail(what, "encoding", rc);
  if (pkt->size <= 0) return core::Status::errorf("{}: the encoder made an empty picture", what);
  return pkt;
}

}  // namespace weir::protocol::av
