#include "protocol/av/av_to_media.h"

#include <algorithm>

#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"
#include "protocol/mpeg_audio.h"
#include "protocol/parameter_sets.h"
#include "protocol/vp9_config.h"

namespace weir::protocol::av {

using core::ByteView;
using core::Codec;
using core::MediaPacket;
using core::Slice;
using core::Status;

namespace {

constexpr int64_t kMaxCts = (1 << 23) - 1;  // FLV CompositionTime is SI24

bool is_adts(ByteView d) { return d.size() >= 2 && d[0] == 0xFF && (d[1] & 0xF6) == 0xF0; }

bool same_aac_parameters(const AacConfig& a, const AacConfig& b) {
  return a.object_type == b.object_type && a.sampling_frequency == b.sampling_frequency &&
         a.channel_configuration == b.channel_configuration;
}

}  // namespace

core::Result<AvToMedia> AvToMedia::create(const AVCodecParameters& par, AVRational time_base) {
  auto codec = from_av_codec_id(par.codec_id);
  if (!codec) return codec.status();
  if (time_base.num <= 0 || time_base.den <= 0) {
    return Status::errorf("{}: time base {}/{} is not positive", core::codec_name(codec.value()), time_base.num,
                          time_base.den);
  }
  AvToMedia a;
  a.codec_ = codec.value();
  a.time_base_ = time_base;
  ByteView extra(par.extradata, par.extradata && par.extradata_size > 0 ? size_t(par.extradata_size) : 0);
  if (a.codec_ == Codec::kH264 || a.codec_ == Codec::kHEVC) {
    a.annexb_ = extra.empty() || has_start_code_prefix(extra);
    if (!a.annexb_) {
      auto r = parse_nal_record(a.codec_, extra, false);
      if (!r) return r.status();
      a.nal_length_size_ = r->nal_length_size;
    }
  }
  bool config_now = !extra.empty() || a.codec_ == Codec::kOpus ||
                    (a.codec_ == Codec::kVP9 && par.format != AV_PIX_FMT_NONE);
  if (config_now) {
    auto c = config_from_codec_parameters(par, 0);
    if (!c) return c.status();
    if (c->has_value()) a.commit_config(std::move(**c));
  }
  return a;
}

bool AvToMedia::differs(ByteView record) const {
  if (!config_) return true;
  ByteView cur = config_->payload();
  return cur.size() != record.size() || !std::equal(cur.begin(), cur.end(), record.begin());
}

void AvToMedia::commit_config(MediaPacket config) {
  if (codec_ == Codec::kAAC) {
    auto asc = parse_aac_audio_specific_config(config.payload());
    aac_stereo_ = !asc || asc->channel_configuration != 1;
  }
  config_ = std::move(config);
  config_pending_ = true;
}

Status AvToMedia::h26x_body(ByteView data, bool key, int flags, int32_t cts, core::ByteWriter& w,
                            std::optional<Slice>& record) const {
  const char* name = core::codec_name(codec_).data();
  std::vector<ByteView> nals;
  if (annexb_) {
    if (!has_start_code_prefix(data)) {
      return Status::errorf("{} packet of {} bytes has no Annex B start code (the stream's extradata is Annex B "
                            "or absent)", name, data.size());
    }
    nals = split_annexb(data);
  } else {
    auto split = split_length_prefixed(data, nal_length_size_);
    if (!split) return Status::errorf("{} packet: {}", name, split.error());
    nals = std::move(split.value());
  }
  if (nals.empty()) return Status::errorf("{} packet of {} bytes holds no NAL unit", name, data.size());
  if (key) {
    auto rec = codec_ == Codec::kH264 ? avc_config_from_nals(nals) : hevc_config_from_nals(nals);
    if (rec && differs(rec->view())) record = std::move(rec.value());
  }
  uint8_t frame_type = key ? kVideoFrameKey : (flags & AV_PKT_FLAG_DISPOSABLE) ? kVideoFrameDisposable
                                                                                : kVideoFrameInter;
  if (codec_ == Codec::kH264) {
    append_video_tag_header_legacy(w, kVideoCodecIdAvc, frame_type, kAvcPacketNalu, cts);
  } else {
    append_video_tag_header_enhanced(w, kFourccHvc1, frame_type, kVideoPacketCodedFrames, cts);
  }
  for (ByteView nal : nals) {
    if (Status s = append_length_prefixed_nal(w, nal, 4); !s) return Status::errorf("{} packet: {}", name, s.message());
  }
  return Status::ok();
}

Status AvToMedia::av1_body(ByteView data, bool key, core::ByteWriter& w, std::optional<Slice>& record) const {
  append_video_tag_header_enhanced(w, kFourccAv01, key ? kVideoFrameKey : kVideoFrameInter,
                                   kVideoPacketCodedFrames, 0);
  size_t header = w.size();
  if (!append_av1_sample_obus(data, w)) return Status::errorf("av1 packet of {} bytes is not AV1 OBUs", data.size());
  if (w.size() == header) return Status::error("av1 packet holds only temporal delimiters or padding");
  if (key) {
    if (auto rec = build_av1_codec_config(data); rec && differs(rec->view())) record = std::move(rec.value());
  }
  return Status::ok();
}

Status AvToMedia::vp9_body(ByteView data, bool key, core::ByteWriter& w, std::optional<Slice>& record) const {
  if (key && !config_) {
    auto h = parse_vp9_frame_header(data);
    if (!h) return h.status();
    if (h->keyframe) record = build_vp9_codec_config(vp9_config_from_keyframe(h.value()));
  }
  append_video_tag_header_enhanced(w, kFourccVp09, key ? kVideoFrameKey : kVideoFrameInter, kVideoPacketCodedFrames,
                                   0);
  w.bytes(data);
  return Status::ok();
}

Status AvToMedia::aac_body(ByteView data, core::ByteWriter& w, std::optional<Slice>& record) const {
  ByteView raw = data;
  bool stereo = aac_stereo_;
  if (is_adts(data)) {
    auto h = parse_adts_header(data);
    if (!h) return h.status();
    if (h->frame_length != data.size()) {
      return Status::errorf("aac packet of {} bytes holds an ADTS frame of {}", data.size(), h->frame_length);
    }
    if (h->raw_data_blocks != 1) return Status::errorf("ADTS frame with {} raw data blocks", h->raw_data_blocks);
    raw = data.subspan(h->header_size);
    bool same = false;
    if (config_) {
      auto cur = parse_aac_audio_specific_config(config_->payload());
      same = cur && same_aac_parameters(cur.value(), h->config);
    }
    if (!same) {
      auto asc = build_aac_audio_specific_config(h->config);
      if (!asc) return asc.status();
      record = std::move(asc.value());
      stereo = h->config.channel_configuration != 1;
    }
  }
  if (raw.empty()) return Status::error("aac packet holds no raw frame");
  append_audio_tag_header_aac(w, kAacPacketRaw, stereo);
  w.bytes(raw);
  return Status::ok();
}

Status AvToMedia::convert(const AVPacket& pkt, std::vector<MediaPacket>& out) {
  const char* name = core::codec_name(codec_).data();
  if (!pkt.data || pkt.size <= 0) return Status::errorf("{} packet is empty", name);
  int64_t dts = pkt.dts != AV_NOPTS_VALUE ? pkt.dts : pkt.pts;
  int64_t pts = pkt.pts != AV_NOPTS_VALUE ? pkt.pts : pkt.dts;
  if (dts == AV_NOPTS_VALUE) return Status::errorf("{} packet has neither pts nor dts", name);
  int64_t dts_ms = to_ms(dts, time_base_);
  int64_t pts_ms = to_ms(pts, time_base_);
  int64_t cts = pts_ms - dts_ms;
  bool has_cts = codec_ == Codec::kH264 || codec_ == Codec::kHEVC;
  if (has_cts && (cts > kMaxCts || cts < -kMaxCts)) {
    return Status::errorf("{} packet: pts - dts = {} ms does not fit FLV's 24-bit composition time", name, cts);
  }
  bool key = pkt.flags & AV_PKT_FLAG_KEY;
  ByteView data(pkt.data, size_t(pkt.size));
  std::optional<Slice> record;
  core::ByteWriter w(data.size() + 16);
  uint8_t tag = kFlvTagAudio;
  Status s;
  switch (codec_) {
    case Codec::kH264:
    case Codec::kHEVC:
      tag = kFlvTagVideo;
      s = h26x_body(data, key, pkt.flags, int32_t(cts), w, record);
      break;
    case Codec::kAV1:
      tag = kFlvTagVideo;
      s = av1_body(data, key, w, record);
      break;
    case Codec::kVP9:
      tag = kFlvTagVideo;
      s = vp9_body(data, key, w, record);
      break;
    case Codec::kAAC:
      s = aac_body(data, w, record);
      break;
    case Codec::kOpus:
      append_audio_tag_header_enhanced(w, kFourccOpus, kAudioPacketCodedFrames);
      w.bytes(data);
      break;
    case Codec::kMP3: {
      MpegAudioFrame f;
      if (!parse_mpeg_audio_header(data, f)) {
        return Status::errorf("mp3 packet of {} bytes has no valid MPEG audio frame header", data.size());
      }
      w.u8(flv_mp3_header(f));
      w.bytes(data);
      break;
    }
    default:
      return Status::errorf("{} packets are not supported", name);
  }
  if (!s) return s;
  std::optional<MediaPacket> new_config;
  if (record) {
    auto c = make_config_packet(codec_, record->view(), dts_ms);
    if (!c) return Status::errorf("{} in-band config: {}", name, c.error());
    new_config = std::move(c.value());
  }
  auto frame = make_media_packet(tag, dts_ms, w.finish());
  if (!frame) return Status::errorf("{} frame did not make a valid FLV tag: {}", name, frame.error());
  if (new_config) commit_config(std::move(*new_config));
  if (!config_ && codec_ != Codec::kMP3) {
    ++stats_.dropped_before_config;
    return Status::ok();
  }
  if (config_pending_) {
    MediaPacket c = *config_;
    c.dts = c.pts = dts_ms;
    out.push_back(std::move(c));
    config_pending_ = false;
    ++stats_.configs;
  }
  out.push_back(std::move(frame.value()));
  ++stats_.frames;
  return Status::ok();
}

}  // namespace weir::protocol::av
