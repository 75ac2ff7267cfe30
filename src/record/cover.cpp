#include "record/cover.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/atomic_file.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/picture_encoder.h"
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
constexpr int kMaxDimension = protocol::av::kMaxPictureDimension;
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

  auto jpeg = protocol::av::encode_picture(*f, protocol::av::PictureFormat::kJpeg, max_width, "cover " + mp4_path);
  if (!jpeg) return jpeg.status();
  if (auto st = core::write_file_atomic(jpeg_path, (*jpeg)->data, size_t((*jpeg)->size)); !st)
    return core::Status::errorf("cover {}: {}", mp4_path, st.message());
  return {};
}

}  // namespace weir::record
