#include "protocol/av/media_to_av.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/mathematics.h>
}

#include <climits>

#include "core/ref.h"
#include "protocol/codec_config.h"
#include "protocol/mpeg_audio.h"
#include "protocol/opus_head.h"
#include "protocol/parameter_sets.h"
#include "protocol/vp9_config.h"

namespace weir::protocol::av {

using core::ByteView;
using core::Codec;
using core::MediaPacket;
using core::Slice;
using core::Status;

namespace {

void release_buffer(void* opaque, uint8_t*) { delete static_cast<core::Ref<core::Buffer>*>(opaque); }

// Points `out` at `len` bytes of `bytes` (from its start), holding a
// reference on its Buffer for as long as FFmpeg keeps the packet.
Status wrap(const Slice& bytes, size_t len, AVPacket* out) {
  if (len > size_t(INT_MAX) - AV_INPUT_BUFFER_PADDING_SIZE) return Status::errorf("packet of {} bytes is too large", len);
  auto* owner = new core::Ref<core::Buffer>(bytes.buffer());
  AVBufferRef* ref = av_buffer_create(const_cast<uint8_t*>(bytes.data()), len, release_buffer, owner,
                                      AV_BUFFER_FLAG_READONLY);
  if (!ref) {
    delete owner;
    return Status::error("out of memory for an AVBufferRef");
  }
  out->buf = ref;
  out->data = ref->data;
  out->size = int(len);
  return Status::ok();
}

}  // namespace

core::Result<MediaToAv> MediaToAv::create(const MediaPacket& config, const MediaToAvOptions& options) {
  if (auto id = to_av_codec_id(config.codec); !id) return id.status();
  if (options.time_base.num <= 0 || options.time_base.den <= 0) {
    return Status::errorf("{}: time base {}/{} is not positive", core::codec_name(config.codec),
                          options.time_base.num, options.time_base.den);
  }
  MediaToAv m;
  m.codec_ = config.codec;
  m.options_ = options;
  if (Status s = m.set_config(config); !s) return s;
  return m;
}

Status MediaToAv::set_config(const MediaPacket& config) {
  const char* name = core::codec_name(codec_).data();
  if (config.codec != codec_) {
    return Status::errorf("{} config for a {} stream", core::codec_name(config.codec), name);
  }
  ByteView record = config.payload();
  if (codec_ == Codec::kMP3) {
    MpegAudioFrame f;
    if (!parse_mpeg_audio_header(record, f)) return Status::error("mp3 packet has no valid MPEG audio frame header");
    return Status::ok();
  }
  if (!config.is_config()) return Status::errorf("{} packet at {} ms is not a config packet", name, config.dts);
  bool annexb = options_.form == BitstreamForm::kAnnexB;
  switch (codec_) {
    case Codec::kH264:
    case Codec::kHEVC: {
      auto r = parse_nal_record(codec_, record, annexb);
      if (!r) return r.status();
      nal_length_size_ = r->nal_length_size;
      parameter_sets_ = r->annexb;
      return Status::ok();
    }
    case Codec::kAV1: {
      auto c = parse_av1_codec_config(record);
      return c ? Status::ok() : c.status();
    }
    case Codec::kVP9: {
      auto c = parse_vp9_codec_config(record);
      return c ? Status::ok() : c.status();
    }
    case Codec::kAAC: {
      auto c = parse_aac_audio_specific_config(record);
      if (!c) return c.status();
      aac_rate_ = c->sampling_frequency;
      return Status::ok();
    }
    case Codec::kOpus: {
      auto h = parse_opus_head(record);
      return h ? Status::ok() : h.status();
    }
    default:
      return Status::errorf("{} streams are not supported", name);
  }
}

Status MediaToAv::annexb_payload(const MediaPacket& pkt, core::ByteWriter& w) const {
  ByteView payload = pkt.payload();
  auto nals = split_length_prefixed(payload, nal_length_size_);
  if (!nals) return nals.status();
  if (pkt.is_keyframe()) {
    bool has_sps = false;
    for (ByteView n : nals.value()) {
      has_sps |= codec_ == Codec::kH264 ? h264_nal_type(n[0]) == 7 : hevc_nal_type(n[0]) == kHevcNalSps;
    }
    if (!has_sps) w.bytes(parameter_sets_.view());
  }
  return length_prefixed_to_annexb(payload, nal_length_size_, w);
}

int64_t MediaToAv::audio_duration(ByteView payload) const {
  uint32_t samples = 0, rate = 0;
  if (codec_ == Codec::kAAC) {
    samples = 1024;
    rate = aac_rate_;
  } else if (codec_ == Codec::kOpus) {
    samples = opus_packet_samples(payload);
    rate = kOpusSampleRate;
  } else if (codec_ == Codec::kMP3) {
    MpegAudioFrame f;
    if (parse_mpeg_audio_header(payload, f)) {
      samples = f.samples;
      rate = f.sample_rate;
    }
  }
  if (samples == 0 || rate == 0) return 0;
  return av_rescale_q(samples, AVRational{1, int(rate)}, options_.time_base);
}

Status MediaToAv::convert(const MediaPacket& pkt, AVPacket* out) const {
  const char* name = core::codec_name(codec_).data();
  if (!out) return Status::error("no AVPacket to fill");
  if (pkt.codec != codec_) return Status::errorf("{} packet for a {} stream", core::codec_name(pkt.codec), name);
  if (pkt.is_config()) return Status::errorf("{} config packet at {} ms: pass it to set_config", name, pkt.dts);
  if (pkt.payload().empty()) return Status::errorf("{} packet at {} ms carries no media", name, pkt.dts);
  av_packet_unref(out);
  Slice payload = pkt.body.sub(pkt.payload_offset);
  bool h26x = codec_ == Codec::kH264 || codec_ == Codec::kHEVC;
  Status s;
  if (h26x && options_.form == BitstreamForm::kAnnexB) {
    core::ByteWriter w(payload.size() + parameter_sets_.size() + 64 + AV_INPUT_BUFFER_PADDING_SIZE);
    if (Status a = annexb_payload(pkt, w); !a) return Status::errorf("{} packet at {} ms: {}", name, pkt.dts, a.message());
    size_t len = w.size();
    w.zeros(AV_INPUT_BUFFER_PADDING_SIZE);
    s = wrap(w.finish(), len, out);
  } else {
    if (h26x) {
      if (auto nals = split_length_prefixed(payload.view(), nal_length_size_); !nals) {
        return Status::errorf("{} packet at {} ms: {}", name, pkt.dts, nals.error());
      }
    }
    if (options_.padded) {
      core::ByteWriter w(payload.size() + AV_INPUT_BUFFER_PADDING_SIZE);
      w.bytes(payload.view());
      w.zeros(AV_INPUT_BUFFER_PADDING_SIZE);
      s = wrap(w.finish(), payload.size(), out);
    } else {
      s = wrap(payload, payload.size(), out);
    }
  }
  if (!s) return s;
  out->dts = from_ms(pkt.dts, options_.time_base);
  out->pts = from_ms(pkt.pts, options_.time_base);
  out->time_base = options_.time_base;
  bool audio = pkt.is_audio();
  if (audio || pkt.is_keyframe()) out->flags |= AV_PKT_FLAG_KEY;
  if (pkt.flags & core::packet_flags::kDisposable) out->flags |= AV_PKT_FLAG_DISPOSABLE;
  if (audio) out->duration = audio_duration(payload.view());
  return Status::ok();
}

}  // namespace weir::protocol::av
