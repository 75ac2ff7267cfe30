#include "record/cover.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "protocol/av/av_ptr.h"

namespace weir::record {

namespace {

using protocol::av::av_error_text;
using protocol::av::CodecContextPtr;
using protocol::av::FramePtr;
using protocol::av::PacketPtr;

struct FormatClose {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatClose>;
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

constexpr int kMaxDimension = 16384;
// Packets read after the first keyframe without a picture coming out before
// giving up (decoders with frame threading or reordering hold a few).
constexpr int kMaxPacketsAfterKey = 256;

core::Status av_fail(const std::string& path, const char* what, int err) {
  return core::Status::errorf("cover {}: {}: {}", path, what, av_error_text(err));
}

// Decodes the first picture at or after the first keyframe of stream `index`.
core::Result<FramePtr> first_picture(const std::string& path, AVFormatContext* fmt, int index,
                                     AVCodecContext* dec) {
  PacketPtr pkt = protocol::av::make_packet();
  FramePtr frame = protocol::av::make_frame();
  if (!pkt || !frame) return core::Status::errorf("cover {}: out of memory", path);
  bool keyframe_seen = false;
  int after_key = 0;
  bool flushing = false;
  for (;;) {
    int rc = avcodec_receive_frame(dec, frame.get());
    if (rc == 0) return frame;
    if (rc == AVERROR_EOF) break;
    if (rc != AVERROR(EAGAIN)) return av_fail(path, "decoding", rc);
    if (flushing) break;
    // The decoder wants input.
    rc = av_read_frame(fmt, pkt.get());
    if (rc == AVERROR_EOF) {
      flushing = true;
      if (keyframe_seen) {
        rc = avcodec_send_packet(dec, nullptr);
        if (rc < 0 && rc != AVERROR_EOF) return av_fail(path, "decoding", rc);
        continue;
      }
      break;
    }
    if (rc < 0) return av_fail(path, "reading", rc);
    bool ours = pkt->stream_index == index;
    if (ours && !keyframe_seen && (pkt->flags & AV_PKT_FLAG_KEY)) keyframe_seen = true;
    if (ours && keyframe_seen) {
      if (++after_key > kMaxPacketsAfterKey) {
        av_packet_unref(pkt.get());
        break;
      }
      rc = avcodec_send_packet(dec, pkt.get());
      // A damaged packet: skip it, the next may decode.
      if (rc < 0 && rc != AVERROR_INVALIDDATA) {
        av_packet_unref(pkt.get());
        return av_fail(path, "decoding", rc);
      }
    }
    av_packet_unref(pkt.get());
  }
  return core::Status::errorf("cover {}: no picture decoded", path);
}

// Output size: the display width (SAR applied), at most max_width, height
// by the display aspect ratio; both even.
void cover_size(const AVFrame* f, int max_width, int& w, int& h) {
  AVRational sar = f->sample_aspect_ratio;
  double display_w = f->width;
  if (sar.num > 0 && sar.den > 0) display_w = double(f->width) * sar.num / sar.den;
  double out_w = display_w < max_width ? display_w : max_width;
  double out_h = double(f->height) * out_w / display_w;
  w = int(out_w + 0.5) & ~1;
  h = int(out_h + 0.5) & ~1;
  if (w < 2) w = 2;
  if (h < 2) h = 2;
}

core::Result<PacketPtr> encode_jpeg(const std::string& path, const AVFrame* src, int max_width) {
  int w = 0, h = 0;
  cover_size(src, max_width, w, h);
  if (w > kMaxDimension || h > kMaxDimension)
    return core::Status::errorf("cover {}: cover size {}x{} out of range", path, w, h);

  // swscale takes the YUVJ formats as their YUV twins plus a full-range flag
  // (given YUVJ it converts all the same but logs a deprecation warning).
  auto src_fmt = AVPixelFormat(src->format);
  bool src_full = src->color_range == AVCOL_RANGE_JPEG;
  switch (src_fmt) {
    case AV_PIX_FMT_YUVJ420P:
      src_fmt = AV_PIX_FMT_YUV420P;
      src_full = true;
      break;
    case AV_PIX_FMT_YUVJ422P:
      src_fmt = AV_PIX_FMT_YUV422P;
      src_full = true;
      break;
    case AV_PIX_FMT_YUVJ444P:
      src_fmt = AV_PIX_FMT_YUV444P;
      src_full = true;
      break;
    default:
      break;
  }
  // Ranges go in before sws_init_context: set afterwards
  // (sws_setColorspaceDetails), an unscaled same-format conversion keeps the
  // plain-copy path it chose and ignores them. (swscale converts the range
  // only, not a BT.709 matrix to JPEG's BT.601: a slight hue shift at most.)
  SwsPtr sws(sws_alloc_context());
  if (!sws) return core::Status::errorf("cover {}: out of memory", path);
  av_opt_set_int(sws.get(), "srcw", src->width, 0);
  av_opt_set_int(sws.get(), "srch", src->height, 0);
  av_opt_set_int(sws.get(), "src_format", src_fmt, 0);
  av_opt_set_int(sws.get(), "src_range", src_full ? 1 : 0, 0);
  av_opt_set_int(sws.get(), "dstw", w, 0);
  av_opt_set_int(sws.get(), "dsth", h, 0);
  av_opt_set_int(sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0);
  av_opt_set_int(sws.get(), "dst_range", 1, 0);
  av_opt_set_int(sws.get(), "sws_flags", SWS_BICUBIC, 0);
  if (sws_init_context(sws.get(), nullptr, nullptr) < 0) {
    const char* name = av_get_pix_fmt_name(AVPixelFormat(src->format));
    return core::Status::errorf("cover {}: cannot scale {} {}x{}", path, name ? name : "?", src->width, src->height);
  }

  FramePtr out = protocol::av::make_frame();
  if (!out) return core::Status::errorf("cover {}: out of memory", path);
  out->format = AV_PIX_FMT_YUVJ420P;  // the YUV420P layout swscale writes, full range
  out->width = w;
  out->height = h;
  if (int rc = av_frame_get_buffer(out.get(), 0); rc < 0) return av_fail(path, "allocating the picture", rc);
  out->color_range = AVCOL_RANGE_JPEG;
  if (int rc = sws_scale(sws.get(), src->data, src->linesize, 0, src->height, out->data, out->linesize); rc <= 0)
    return core::Status::errorf("cover {}: scaling failed", path);

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) return core::Status::errorf("cover {}: this FFmpeg has no JPEG encoder", path);
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return core::Status::errorf("cover {}: out of memory", path);
  enc->width = w;
  enc->height = h;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = AVRational{1, 25};
  // Fixed quantiser 3 (of 2..31): a sharp poster at a few tens of KB.
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 3;
  out->quality = enc->global_quality;
  out->pict_type = AV_PICTURE_TYPE_I;
  if (int rc = avcodec_open2(enc.get(), codec, nullptr); rc < 0) return av_fail(path, "opening the JPEG encoder", rc);
  if (int rc = avcodec_send_frame(enc.get(), out.get()); rc < 0) return av_fail(path, "encoding", rc);
  if (int rc = avcodec_send_frame(enc.get(), nullptr); rc < 0) return av_fail(path, "encoding", rc);
  PacketPtr pkt = protocol::av::make_packet();
  if (!pkt) return core::Status::errorf("cover {}: out of memory", path);
  if (int rc = avcodec_receive_packet(enc.get(), pkt.get()); rc < 0) return av_fail(path, "encoding", rc);
  if (pkt->size <= 0) return core::Status::errorf("cover {}: the encoder made an empty picture", path);
  return pkt;
}

// Writes `data` to path.tmp, fsyncs, renames over path. Removes the tmp file
// on any failure.
core::Status write_file_atomic(const std::string& path, const uint8_t* data, size_t size) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return core::Status::errorf("cover {}: cannot create {}: {}", path, tmp, std::strerror(errno));
  auto fail = [&](const char* what) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return core::Status::errorf("cover {}: {} failed: {}", path, what, std::strerror(err));
  };
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) return fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return {};
}

}  // namespace

core::Status make_cover(const std::string& mp4_path, const std::string& jpeg_path, int max_width) {
  if (max_width < 2) return core::Status::errorf("cover {}: max_width {} is below 2", mp4_path, max_width);

  AVFormatContext* raw = nullptr;
  if (int rc = avformat_open_input(&raw, mp4_path.c_str(), nullptr, nullptr); rc < 0)
    return av_fail(mp4_path, "cannot open", rc);  // avformat_open_input freed what it had
  FormatPtr fmt(raw);
  if (int rc = avformat_find_stream_info(fmt.get(), nullptr); rc < 0)
    return av_fail(mp4_path, "cannot read stream info", rc);

  int index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index == AVERROR_STREAM_NOT_FOUND) return core::Status::errorf("cover {}: no video track", mp4_path);
  if (index < 0) return av_fail(mp4_path, "finding the video track", index);
  // Only the chosen stream's packets are needed.
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (int(i) != index) fmt->streams[i]->discard = AVDISCARD_ALL;
  const AVCodecParameters* par = fmt->streams[index]->codecpar;
  if (par->width <= 0 || par->height <= 0 || par->width > kMaxDimension || par->height > kMaxDimension)
    return core::Status::errorf("cover {}: video size {}x{} out of range", mp4_path, par->width, par->height);

  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec)
    return core::Status::errorf("cover {}: no decoder for {}", mp4_path, avcodec_get_name(par->codec_id));
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return core::Status::errorf("cover {}: out of memory", mp4_path);
  if (int rc = avcodec_parameters_to_context(dec.get(), par); rc < 0)
    return av_fail(mp4_path, "decoder parameters", rc);
  dec->thread_count = 1;  // one picture: threads would only add latency and memory
  dec->pkt_timebase = fmt->streams[index]->time_base;
  if (int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) return av_fail(mp4_path, "opening the decoder", rc);

  auto frame = first_picture(mp4_path, fmt.get(), index, dec.get());
  if (!frame) return frame.status();
  const AVFrame* f = frame->get();
  if (f->width <= 0 || f->height <= 0 || f->width > kMaxDimension || f->height > kMaxDimension)
    return core::Status::errorf("cover {}: picture size {}x{} out of range", mp4_path, f->width, f->height);

  auto jpeg = encode_jpeg(mp4_path, f, max_width);
  if (!jpeg) return jpeg.status();
  return write_file_atomic(jpeg_path, (*jpeg)->data, size_t((*jpeg)->size));
}

}  // namespace weir::record
