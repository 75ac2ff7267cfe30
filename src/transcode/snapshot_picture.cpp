#include "transcode/snapshot_picture.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "origin/consumer.h"
#include "origin/consumer_handle.h"
#include "protocol/av/codec_parameters.h"
#include "protocol/av/media_to_av.h"
#include "protocol/av/picture_encoder.h"

namespace weir::transcode {

namespace {

using protocol::av::av_error_text;

// The one-shot reader's consumer: read_latest_gop releases before returning
// to the loop, so neither callback can run.
struct OneShot final : origin::Consumer {
  void on_packets() override {}
  void on_stream_end(const std::string&) override {}
};

core::Status av_fail(const std::string& what, const char* doing, int err) {
  return core::Status::errorf("{}: {}: {}", what, doing, av_error_text(err));
}

}  // namespace

void GopCollector::add(const origin::PacketRef& p) {
  const core::MediaPacket& m = p->media();
  if (!m.is_video()) return;
  video_seen_ = true;
  if (m.is_config()) {
    pending_config_ = p;
    return;
  }
  if (m.is_keyframe() && protocol::av::MediaToAv::carries_media(m)) {
    if (pending_config_) gop_.config = std::move(pending_config_);
    if (!gop_.config) return;
    gop_.frames.clear();
    gop_.frames.push_back(p);
    return;
  }
  if (!gop_.frames.empty() && gop_.frames.size() < kMaxGopFrames && !pending_config_) gop_.frames.push_back(p);
}

GopCollector read_latest_gop(const std::shared_ptr<origin::StreamHub>& hub) {
  GopCollector out;
  OneShot consumer;
  origin::ConsumerHandle in(consumer);
  if (!in.attach(hub, {origin::ConsumerPolicy::kLossless, origin::StartAt::kLatestKeyframe})) return out;
  std::vector<origin::PacketRef> batch;
  for (;;) {
    batch.clear();
    origin::ReadResult r = in.read(batch, 8 << 20);
    if (r == origin::ReadResult::kGap) continue;
    if (r != origin::ReadResult::kOk) break;
    for (const auto& p : batch) out.add(p);
  }
  in.release();
  return out;
}

core::Result<protocol::av::FramePtr> decode_latest_picture(const SnapshotGop& gop, const std::string& what) {
  namespace av = protocol::av;
  if (!gop.config || gop.frames.empty()) return core::Status::errorf("{}: no keyframe to decode", what);
  const core::MediaPacket& config = gop.config->media();
  av::CodecParametersPtr par = av::make_codec_parameters();
  if (!par) return core::Status::errorf("{}: out of memory", what);
  if (auto st = av::codec_parameters_from_config(config, par.get()); !st)
    return core::Status::errorf("{}: {}", what, st.message());
  if (auto st = av::fill_size_from_keyframe(gop.frames.front()->media(), par.get()); !st)
    return core::Status::errorf("{}: {}", what, st.message());
  auto to_av = av::MediaToAv::create(config, {});
  if (!to_av) return core::Status::errorf("{}: {}", what, to_av.error());
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) return core::Status::errorf("{}: no decoder for {}", what, avcodec_get_name(par->codec_id));
  av::CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return core::Status::errorf("{}: out of memory", what);
  if (int rc = avcodec_parameters_to_context(dec.get(), par.get()); rc < 0) return av_fail(what, "decoder setup", rc);
  // One picture per request: frame threads would add latency and memory; the
  // pool runs decodes of different streams in parallel instead.
  dec->thread_count = 1;
  dec->pkt_timebase = AVRational{1, 1000};
  if (int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) return av_fail(what, "opening the decoder", rc);

  av::PacketPtr pkt = av::make_packet();
  av::FramePtr frame = av::make_frame();
  av::FramePtr last;
  if (!pkt || !frame) return core::Status::errorf("{}: out of memory", what);
  // Takes every picture the decoder has ready; keeps the last.
  auto drain = [&]() -> core::Status {
    for (;;) {
      int rc = avcodec_receive_frame(dec.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return {};
      if (rc < 0) return av_fail(what, "decoding", rc);
      if (!last) last = av::make_frame();
      if (!last) return core::Status::errorf("{}: out of memory", what);
      av_frame_unref(last.get());
      av_frame_move_ref(last.get(), frame.get());
    }
  };
  for (const origin::PacketRef& p : gop.frames) {
    const core::MediaPacket& m = p->media();
    if (!av::MediaToAv::carries_media(m)) continue;
    if (auto st = to_av->convert(m, pkt.get()); !st) continue;  // not this codec's frame: skipped
    int rc = avcodec_send_packet(dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    // A damaged packet: skip it, the next may decode.
    if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR(EAGAIN)) return av_fail(what, "decoding", rc);
    if (auto st = drain(); !st) return st;
  }
  if (int rc = avcodec_send_packet(dec.get(), nullptr); rc < 0 && rc != AVERROR_EOF)
    return av_fail(what, "decoding", rc);
  if (auto st = drain(); !st) return st;
  if (!last) return core::Status::errorf("{}: no picture decoded from {} frames", what, gop.frames.size());
  if (last->width <= 0 || last->height <= 0 || last->width > av::kMaxPictureDimension ||
      last->height > av::kMaxPictureDimension)
    return core::Status::errorf("{}: picture size {}x{} out of range", what, last->width, last->height);
  return last;
}

}  // namespace weir::transcode
