#include "record/cover.h"

extern "C" {
#include <libavcodec/avcodec.h>
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
#include "record/segment_file.h"

namespace weir::record {

namespace {

using protocol::av::av_error_text;
using protocol::av::CodecContextPtr;
using protocol::av::FramePtr;
using protocol::av::PacketPtr;

struct FdClose {
  void operator()(int* fd) const {
    if (*fd >= 0) ::close(*fd);
    delete fd;
  }
};
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

AVCodecID codec_of(uint32_t sample_entry) {
  switch (sample_entry) {
    case 0x61766331:  // avc1
    case 0x61766333:  // avc3
      return AV_CODEC_ID_H264;
    case 0x68766331:  // hvc1
    case 0x68657631:  // hev1
      return AV_CODEC_ID_HEVC;
    case 0x61763031:  // av01
      return AV_CODEC_ID_AV1;
    case 0x76703039:  // vp09
      return AV_CODEC_ID_VP9;
  }
  return AV_CODEC_ID_NONE;
}

// Decodes the first picture at or after the first sync sample of `track`,
// reading the samples' bytes from `fd` (the segment file).
core::Result<FramePtr> first_picture(const std::string& path, int fd, const protocol::Fmp4ScanTrack& track,
                                     AVCodecContext* dec) {
  PacketPtr pkt = protocol::av::make_packet();
  FramePtr frame = protocol::av::make_frame();
  if (!pkt || !frame) return core::Status::errorf("cover {}: out of memory", path);
  size_t i = 0;
  while (i < track.samples.size() && !track.samples[i].is_sync()) ++i;
  if (i == track.samples.size()) return core::Status::errorf("cover {}: no keyframe", path);
  const size_t end = std::min(track.samples.size(), i + size_t(kMaxPacketsAfterKey));
  bool flushing = false;
  for (;;) {
    int rc = avcodec_receive_frame(dec, frame.get());
    if (rc == 0) return frame;
    if (rc == AVERROR_EOF) break;
    if (rc != AVERROR(EAGAIN)) return av_fail(path, "decoding", rc);
    if (flushing) break;
    if (i == end) {
      flushing = true;
      rc = avcodec_send_packet(dec, nullptr);
      if (rc < 0 && rc != AVERROR_EOF) return av_fail(path, "decoding", rc);
      continue;
    }
    const protocol::Fmp4ScanSample& smp = track.samples[i++];
    if (smp.size == 0 || smp.size > (64u << 20)) continue;
    if (int r = av_new_packet(pkt.get(), int(smp.size)); r < 0) return av_fail(path, "allocating", r);
    ssize_t got = ::pread(fd, pkt->data, smp.size, off_t(smp.offset));
    if (got != ssize_t(smp.size)) {
      av_packet_unref(pkt.get());
      return core::Status::errorf("cover {}: reading a sample at byte {}: {}", path, smp.offset,
                                  got < 0 ? std::strerror(errno) : "short read");
    }
    pkt->pts = pkt->dts = int64_t(smp.decode_time);
    if (smp.is_sync()) pkt->flags |= AV_PKT_FLAG_KEY;
    rc = avcodec_send_packet(dec, pkt.get());
    av_packet_unref(pkt.get());
    // A damaged packet: skip it, the next may decode.
    if (rc < 0 && rc != AVERROR_INVALIDDATA) return av_fail(path, "decoding", rc);
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

core::Status make_cover(const std::string& segment_path, const std::string& jpeg_path, int max_width) {
  const std::string& mp4_path = segment_path;
  if (max_width < 2) return core::Status::errorf("cover {}: max_width {} is below 2", mp4_path, max_width);
  auto seg = scan_segment_file(segment_path);
  if (!seg) return core::Status::errorf("cover {}: {}", segment_path, seg.error());
  const protocol::Fmp4ScanTrack* track = nullptr;
  for (const auto& t : seg->scan.tracks)
    if (t.is_video()) track = &t;
  if (!track) return core::Status::errorf("cover {}: no video track", mp4_path);
  const AVCodecID id = codec_of(track->sample_entry);
  if (id == AV_CODEC_ID_NONE) return core::Status::errorf("cover {}: no decoder for this sample entry", mp4_path);
  if (track->width == 0 || track->height == 0 || track->width > kMaxDimension || track->height > kMaxDimension)
    return core::Status::errorf("cover {}: video size {}x{} out of range", mp4_path, track->width, track->height);
  const AVCodec* codec = avcodec_find_decoder(id);
  if (!codec) return core::Status::errorf("cover {}: no decoder for {}", mp4_path, avcodec_get_name(id));
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return core::Status::errorf("cover {}: out of memory", mp4_path);
  dec->width = track->width;
  dec->height = track->height;
  // The decoder config record (avcC, hvcC, av1C) is the extradata FFmpeg's
  // decoders take with length-prefixed samples; VP9 needs none.
  if (!track->config.empty() && id != AV_CODEC_ID_VP9) {
    dec->extradata = static_cast<uint8_t*>(av_mallocz(track->config.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!dec->extradata) return core::Status::errorf("cover {}: out of memory", mp4_path);
    std::memcpy(dec->extradata, track->config.data(), track->config.size());
    dec->extradata_size = int(track->config.size());
  }
  dec->thread_count = 1;  // one picture: threads would only add latency and memory
  dec->pkt_timebase = AVRational{1, int(track->timescale ? track->timescale : 90000)};
  if (int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) return av_fail(mp4_path, "opening the decoder", rc);
  int fd = ::open(segment_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::Status::errorf("cover {}: {}", segment_path, std::strerror(errno));
  std::unique_ptr<int, FdClose> fd_guard(new int(fd));

  auto frame = first_picture(mp4_path, fd, *track, dec.get());
  if (!frame) return frame.status();
  const AVFrame* f = frame->get();
  if (f->width <= 0 || f->height <= 0 || f->width > kMaxDimension || f->height > kMaxDimension)
    return core::Status::errorf("cover {}: picture size {}x{} out of range", mp4_path, f->width, f->height);

  auto jpeg = encode_jpeg(mp4_path, f, max_width);
  if (!jpeg) return jpeg.status();
  return write_file_atomic(jpeg_path, (*jpeg)->data, size_t((*jpeg)->size));
}

}  // namespace weir::record
