#include "transcode/audio_decoder.h"

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
Status av_fail(const char* what, int err) { return Status::errorf("{}: {}", what, av::av_error_text(err)); }
}  // namespace

Status AudioDecoder::push(const core::MediaPacket& pkt, const FrameFn& on_frame) {
  if (pkt.is_config()) {
    const bool same = have_config_ && pkt.codec == config_.codec && pkt.payload().size() == config_.payload().size() &&
                      std::equal(pkt.payload().begin(), pkt.payload().end(), config_.payload().begin());
    return same ? Status::ok() : open_for(pkt);
  }
  if (!av::MediaToAv::carries_media(pkt)) return Status::ok();
  if ((!dec_ || to_av_->codec() != pkt.codec) && pkt.codec == core::Codec::kMP3)
    if (Status st = open_for(pkt); !st) return st;  // MP3 has no config packet: its frames say rate and channels
  if (!dec_ || to_av_->codec() != pkt.codec) return Status::ok();
  return decode(pkt, on_frame);
}

Status AudioDecoder::open_for(const core::MediaPacket& config) {
  auto conv = av::MediaToAv::create(config, {kMs, av::BitstreamForm::kLengthPrefixed, true});
  if (!conv) return Status::errorf("audio config: {}", conv.error());
  auto par = av::make_codec_parameters();
  if (!par) return Status::error("out of memory (audio parameters)");
  if (auto st = av::codec_parameters_from_config(config, par.get()); !st)
    return Status::errorf("audio config: {}", st.message());
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) return Status::errorf("no decoder for {}", avcodec_get_name(par->codec_id));
  av::CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return Status::error("out of memory (audio decoder)");
  if (int e = avcodec_parameters_to_context(dec.get(), par.get()); e < 0) return av_fail("audio decoder parameters", e);
  dec->pkt_timebase = kMs;
  dec->thread_count = 1;
  if (int e = avcodec_open2(dec.get(), codec, nullptr); e < 0) return av_fail("opening the audio decoder", e);
  if (dec_) stats_.reopens++;
  dec_ = std::move(dec);
  to_av_ = std::move(*conv);
  config_ = config;
  have_config_ = config.is_config();
  errors_in_row_ = 0;
  return Status::ok();
}

Status AudioDecoder::decode(const core::MediaPacket& pkt, const FrameFn& on_frame) {
  auto p = av::make_packet();
  auto f = av::make_frame();
  if (!p || !f) return Status::error("out of memory (audio decoder packet)");
  auto failed = [&](const std::string& why) {
    stats_.errors++;
    if (++errors_in_row_ >= kMaxDecodeErrors)
      return Status::errorf("{} audio packets in a row could not be decoded: {}", kMaxDecodeErrors, why);
    return Status::ok();
  };
  if (auto st = to_av_->convert(pkt, p.get()); !st) return failed(st.message());
  int e = avcodec_send_packet(dec_.get(), p.get());
  if (e < 0 && e != AVERROR(EAGAIN)) return failed(av::av_error_text(e));
  for (;;) {
    e = avcodec_receive_frame(dec_.get(), f.get());
    if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) break;
    if (e < 0) return failed(av::av_error_text(e));
    errors_in_row_ = 0;
    stats_.frames++;
    f->pts = f->best_effort_timestamp;
    Status st = on_frame(f.get());
    av_frame_unref(f.get());
    if (!st) return st;
  }
  return Status::ok();
}

}  // namespace weir::transcode
