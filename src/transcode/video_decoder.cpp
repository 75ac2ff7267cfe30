#include "transcode/video_decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <algorithm>

#include "protocol/av/codec_parameters.h"

namespace weir::transcode {

namespace av = protocol::av;
using core::Status;

namespace {
constexpr AVRational kMs{1, 1000};
}

Status VideoDecoder::configure(const core::MediaPacket& config) {
  if (dec_ && config.codec == config_.codec && config.payload().size() == config_.payload().size() &&
      std::equal(config.payload().begin(), config.payload().end(), config_.payload().begin()))
    return Status::ok();
  auto conv = av::MediaToAv::create(config, {kMs, av::BitstreamForm::kLengthPrefixed, true});
  if (!conv) return Status::errorf("source video config: {}", conv.error());
  auto par = av::make_codec_parameters();
  if (auto st = av::codec_parameters_from_config(config, par.get()); !st)
    return Status::errorf("source video config: {}", st.message());
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) return Status::errorf("no decoder for the source's {}", avcodec_get_name(par->codec_id));
  av::CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return Status::error("out of memory (decoder)");
  if (int e = avcodec_parameters_to_context(dec.get(), par.get()); e < 0)
    return Status::errorf("decoder parameters: {}", av::av_error_text(e));
  dec->pkt_timebase = kMs;
  dec->thread_count = 1;  // frame threads would add a frame of delay each
  if (int e = avcodec_open2(dec.get(), codec, nullptr); e < 0)
    return Status::errorf("opening the decoder: {}", av::av_error_text(e));
  if (dec_) stats_.reopens++;
  dec_ = std::move(dec);
  to_av_ = std::move(*conv);
  config_ = config;
  need_key_ = true;
  errors_in_row_ = 0;
  packets_since_frame_ = 0;
  return Status::ok();
}

bool VideoDecoder::admit(const core::MediaPacket& pkt) {
  if (!dec_ || !av::MediaToAv::carries_media(pkt)) return false;
  if (need_key_) {
    if (!pkt.is_keyframe()) return false;
    need_key_ = false;
  }
  return true;
}

Status VideoDecoder::decode(const core::MediaPacket& pkt, const FrameFn& on_frame) {
  auto p = av::make_packet();
  auto f = av::make_frame();
  if (!p || !f) return Status::error("out of memory (decoder packet)");
  if (auto st = to_av_->convert(pkt, p.get()); !st) {
    stats_.errors++;
    if (++errors_in_row_ >= kMaxDecodeErrors)
      return Status::errorf("{} source packets in a row could not be read: {}", kMaxDecodeErrors, st.message());
    need_key_ = true;
    return Status::ok();
  }
  int e = avcodec_send_packet(dec_.get(), p.get());
  if (e < 0 && e != AVERROR(EAGAIN)) {
    stats_.errors++;
    if (++errors_in_row_ >= kMaxDecodeErrors)
      return Status::errorf("{} source packets in a row could not be decoded: {}", kMaxDecodeErrors,
                            av::av_error_text(e));
    return Status::ok();
  }
  if (++packets_since_frame_ > kMaxPacketsWithoutFrame)
    return Status::errorf("the decoder made no picture from the last {} source packets", kMaxPacketsWithoutFrame);
  for (;;) {
    e = avcodec_receive_frame(dec_.get(), f.get());
    if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) break;
    if (e < 0) {
      stats_.errors++;
      if (++errors_in_row_ >= kMaxDecodeErrors)
        return Status::errorf("{} source frames in a row could not be decoded: {}", kMaxDecodeErrors,
                              av::av_error_text(e));
      break;
    }
    errors_in_row_ = 0;
    packets_since_frame_ = 0;
    stats_.frames++;
    f->pts = f->best_effort_timestamp;
    f->pict_type = AV_PICTURE_TYPE_NONE;  // the encoders choose, except where a caller forces an IDR
    if (dec_->framerate.num > 0 && dec_->framerate.den > 0) rate_ = dec_->framerate;
    Status st = on_frame(f.get());
    av_frame_unref(f.get());
    if (!st) return st;
  }
  return Status::ok();
}

}  // namespace weir::transcode
