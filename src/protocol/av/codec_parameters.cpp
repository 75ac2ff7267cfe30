#include "protocol/av/codec_parameters.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cstring>
#include <vector>

#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"
#include "protocol/mpeg_audio.h"
#include "protocol/opus_head.h"
#include "protocol/parameter_sets.h"
#include "protocol/vp9_config.h"

namespace weir::protocol::av {

using core::ByteView;
using core::Codec;
using core::Slice;
using core::Status;

namespace {

bool is_video_codec(Codec c) { return c >= Codec::kH264 && c <= Codec::kVP9; }

// chroma: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
AVPixelFormat yuv_format(int chroma, int depth) {
  static constexpr AVPixelFormat k8[4] = {AV_PIX_FMT_GRAY8, AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV422P,
                                          AV_PIX_FMT_YUV444P};
  static constexpr AVPixelFormat k10[4] = {AV_PIX_FMT_GRAY10, AV_PIX_FMT_YUV420P10, AV_PIX_FMT_YUV422P10,
                                           AV_PIX_FMT_YUV444P10};
  static constexpr AVPixelFormat k12[4] = {AV_PIX_FMT_GRAY12, AV_PIX_FMT_YUV420P12, AV_PIX_FMT_YUV422P12,
                                           AV_PIX_FMT_YUV444P12};
  if (chroma < 0 || chroma > 3) return AV_PIX_FMT_NONE;
  switch (depth) {
    case 8: return k8[chroma];
    case 10: return k10[chroma];
    case 12: return k12[chroma];
    default: return AV_PIX_FMT_NONE;
  }
}

Status set_extradata(AVCodecParameters* par, ByteView bytes) {
  if (bytes.size() > size_t(INT32_MAX) - AV_INPUT_BUFFER_PADDING_SIZE) {
    return Status::errorf("extradata of {} bytes is too large", bytes.size());
  }
  auto* p = static_cast<uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!p) return Status::error("out of memory for extradata");
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  par->extradata = p;
  par->extradata_size = int(bytes.size());
  return Status::ok();
}

void set_channels(AVCodecParameters* par, int channels) {
  av_channel_layout_uninit(&par->ch_layout);
  av_channel_layout_default(&par->ch_layout, channels);
}

Status reset(AVCodecParameters* par) {
  AVCodecParameters* blank = avcodec_parameters_alloc();
  if (!blank) return Status::error("out of memory for codec parameters");
  int rc = avcodec_parameters_copy(par, blank);
  avcodec_parameters_free(&blank);
  if (rc < 0) return Status::error("cannot clear codec parameters");
  return Status::ok();
}

Status video_from_nal_record(Codec codec, ByteView record, AVCodecParameters* par, BitstreamForm form) {
  bool annexb = form == BitstreamForm::kAnnexB;
  auto r = parse_nal_record(codec, record, annexb);
  if (!r) return r.status();
  par->width = int(r->width);
  par->height = int(r->height);
  par->profile = r->profile;
  par->level = r->level;
  par->format = yuv_format(r->chroma_format, r->bit_depth);
  return set_extradata(par, annexb ? r->annexb.view() : record);
}

Status video_from_av1(ByteView record, AVCodecParameters* par) {
  auto c = parse_av1_codec_config(record);
  if (!c) return c.status();
  par->profile = c->seq_profile;
  par->level = c->seq_level_idx_0;
  int depth = c->twelve_bit ? 12 : c->high_bitdepth ? 10 : 8;
  int chroma = c->monochrome ? 0 : !c->chroma_subsampling_x ? 3 : c->chroma_subsampling_y ? 1 : 2;
  par->format = yuv_format(chroma, depth);
  std::vector<Obu> obus;
  if (split_obus(c->config_obus.view(), obus)) {
    for (const Obu& o : obus) {
      Av1SequenceHeader h;
      if (o.type == kObuSequenceHeader && parse_av1_sequence_header(o.payload, h)) {
        par->width = int(h.max_width);
        par->height = int(h.max_height);
        par->color_primaries = AVColorPrimaries(h.color_primaries);
        par->color_trc = AVColorTransferCharacteristic(h.transfer_characteristics);
        par->color_space = AVColorSpace(h.matrix_coefficients);
        par->color_range = h.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
        break;
      }
    }
  }
  return set_extradata(par, record);
}

Status video_from_vp9(ByteView record, AVCodecParameters* par) {
  auto c = parse_vp9_codec_config(record);
  if (!c) return c.status();
  par->profile = c->profile;
  if (c->level) par->level = c->level;
  int chroma = c->chroma_subsampling == kVp9Chroma444 ? 3 : c->chroma_subsampling == kVp9Chroma422 ? 2 : 1;
  par->format = yuv_format(chroma, c->bit_depth);
  if (c->matrix_coefficients == AVCOL_SPC_RGB && chroma == 3) {
    par->format = c->bit_depth == 8 ? AV_PIX_FMT_GBRP : c->bit_depth == 10 ? AV_PIX_FMT_GBRP10 : AV_PIX_FMT_GBRP12;
  }
  par->color_range = c->full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  par->color_primaries = AVColorPrimaries(c->colour_primaries);
  par->color_trc = AVColorTransferCharacteristic(c->transfer_characteristics);
  par->color_space = AVColorSpace(c->matrix_coefficients);
  if (chroma == 1) {
    par->chroma_location =
        c->chroma_subsampling == kVp9Chroma420Colocated ? AVCHROMA_LOC_TOPLEFT : AVCHROMA_LOC_LEFT;
  }
  return Status::ok();
}

Status audio_from_aac(ByteView record, AVCodecParameters* par) {
  auto c = parse_aac_audio_specific_config(record);
  if (!c) return c.status();
  par->sample_rate = int(c->sbr && c->extension_sampling_frequency ? c->extension_sampling_frequency
                                                                   : c->sampling_frequency);
  set_channels(par, aac_channel_count(c->channel_configuration));
  par->profile = c->ps ? FF_PROFILE_AAC_HE_V2 : c->sbr ? FF_PROFILE_AAC_HE : c->object_type - 1;
  par->frame_size = c->sbr ? 2048 : 1024;
  return set_extradata(par, record);
}

Status audio_from_opus(ByteView record, AVCodecParameters* par) {
  auto h = parse_opus_head(record);
  if (!h) return h.status();
  par->sample_rate = int(kOpusSampleRate);
  set_channels(par, h->channels);
  par->initial_padding = h->pre_skip;
  return set_extradata(par, record);
}

Status audio_from_mp3(ByteView frame, AVCodecParameters* par) {
  MpegAudioFrame f;
  if (!parse_mpeg_audio_header(frame, f)) {
    return Status::errorf("MP3: {} bytes without a valid MPEG audio frame header", frame.size());
  }
  par->codec_id = f.layer == 3 ? AV_CODEC_ID_MP3 : f.layer == 2 ? AV_CODEC_ID_MP2 : AV_CODEC_ID_MP1;
  par->sample_rate = int(f.sample_rate);
  set_channels(par, f.mono ? 1 : 2);
  par->frame_size = int(f.samples);
  par->bit_rate = f.bitrate;
  return Status::ok();
}

// vpcC fields from a pixel format and colour description.
core::Result<Slice> vp9_record_from(const AVCodecParameters& par) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(AVPixelFormat(par.format));
  if (!d) return Status::error("VP9 parameters: no pixel format, so no VPCodecConfigurationRecord");
  Vp9Config c;
  c.bit_depth = uint8_t(d->comp[0].depth);
  bool rgb = d->flags & AV_PIX_FMT_FLAG_RGB;
  if (rgb || (d->log2_chroma_w == 0 && d->log2_chroma_h == 0)) {
    c.chroma_subsampling = kVp9Chroma444;
  } else if (d->log2_chroma_h == 0) {
    c.chroma_subsampling = kVp9Chroma422;
  } else {
    c.chroma_subsampling = par.chroma_location == AVCHROMA_LOC_TOPLEFT ? kVp9Chroma420Colocated
                                                                       : kVp9Chroma420Vertical;
  }
  if (c.bit_depth != 8 && c.bit_depth != 10 && c.bit_depth != 12) {
    return Status::errorf("VP9 parameters: pixel format {} has {}-bit samples", d->name, c.bit_depth);
  }
  bool subsampled = c.chroma_subsampling <= kVp9Chroma420Colocated;
  if (par.profile >= 0 && par.profile <= 3) {
    c.profile = uint8_t(par.profile);
  } else {
    c.profile = uint8_t((c.bit_depth > 8 ? 2 : 0) + (subsampled ? 0 : 1));
  }
  c.level = par.level > 0 && par.level < 256 ? uint8_t(par.level) : 0;
  c.full_range = par.color_range == AVCOL_RANGE_JPEG;
  c.colour_primaries = uint8_t(par.color_primaries);
  c.transfer_characteristics = uint8_t(par.color_trc);
  c.matrix_coefficients = rgb ? uint8_t(AVCOL_SPC_RGB) : uint8_t(par.color_space);
  return build_vp9_codec_config(c);
}

// A canonical av1C: from raw OBUs, or an av1C whose config OBUs hold a
// sequence header (rebuilt, so in-band and out-of-band sources agree).
core::Result<Slice> av1_record_from(ByteView extradata) {
  if (extradata.empty() || !(extradata[0] & 0x80)) return build_av1_codec_config(extradata);
  auto c = parse_av1_codec_config(extradata);
  if (!c) return c.status();
  if (c->config_obus.empty()) return Slice::copy_of(extradata);
  return build_av1_codec_config(c->config_obus.view());
}

}  // namespace

core::Result<AVCodecID> to_av_codec_id(Codec codec) {
  switch (codec) {
    case Codec::kH264: return AV_CODEC_ID_H264;
    case Codec::kHEVC: return AV_CODEC_ID_HEVC;
    case Codec::kAV1: return AV_CODEC_ID_AV1;
    case Codec::kVP9: return AV_CODEC_ID_VP9;
    case Codec::kAAC: return AV_CODEC_ID_AAC;
    case Codec::kMP3: return AV_CODEC_ID_MP3;
    case Codec::kOpus: return AV_CODEC_ID_OPUS;
    default: return Status::errorf("codec {} has no FFmpeg mapping in Weir", core::codec_name(codec));
  }
}

core::Result<Codec> from_av_codec_id(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_H264: return Codec::kH264;
    case AV_CODEC_ID_HEVC: return Codec::kHEVC;
    case AV_CODEC_ID_AV1: return Codec::kAV1;
    case AV_CODEC_ID_VP9: return Codec::kVP9;
    case AV_CODEC_ID_AAC: return Codec::kAAC;
    case AV_CODEC_ID_MP1:
    case AV_CODEC_ID_MP2:
    case AV_CODEC_ID_MP3: return Codec::kMP3;
    case AV_CODEC_ID_OPUS: return Codec::kOpus;
    default: return Status::errorf("FFmpeg codec {} is not one Weir carries", avcodec_get_name(id));
  }
}

Status codec_parameters_from_config(const core::MediaPacket& config, AVCodecParameters* par, BitstreamForm form) {
  if (!par) return Status::error("no codec parameters to fill");
  bool mp3 = config.codec == Codec::kMP3;
  if (!mp3 && !config.is_config()) {
    return Status::errorf("{} packet at {} ms is not a config packet", core::codec_name(config.codec), config.dts);
  }
  auto id = to_av_codec_id(config.codec);
  if (!id) return id.status();
  if (config.is_video() != is_video_codec(config.codec) || config.is_data()) {
    return Status::errorf("{} packet on the wrong track", core::codec_name(config.codec));
  }
  ByteView record = config.payload();
  if (record.empty()) return Status::errorf("{} config packet has no record", core::codec_name(config.codec));
  if (Status s = reset(par); !s) return s;
  par->codec_type = config.is_video() ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
  par->codec_id = id.value();
  Status s;
  switch (config.codec) {
    case Codec::kH264:
    case Codec::kHEVC: s = video_from_nal_record(config.codec, record, par, form); break;
    case Codec::kAV1: s = video_from_av1(record, par); break;
    case Codec::kVP9: s = video_from_vp9(record, par); break;
    case Codec::kAAC: s = audio_from_aac(record, par); break;
    case Codec::kOpus: s = audio_from_opus(record, par); break;
    case Codec::kMP3: s = audio_from_mp3(record, par); break;
    default: break;  // to_av_codec_id refused the rest
  }
  if (!s) {
    (void)reset(par);  // leave no half-filled parameters behind
    return s;
  }
  return Status::ok();
}

Status fill_size_from_keyframe(const core::MediaPacket& keyframe, AVCodecParameters* par) {
  if (keyframe.codec != Codec::kVP9) return Status::ok();
  auto h = parse_vp9_frame_header(keyframe.payload());
  if (!h) return h.status();
  if (!h->keyframe) return Status::errorf("VP9 packet at {} ms is not a key frame", keyframe.dts);
  par->width = int(h->width);
  par->height = int(h->height);
  return Status::ok();
}

core::Result<std::optional<core::MediaPacket>> config_from_codec_parameters(const AVCodecParameters& par,
                                                                            int64_t dts_ms) {
  auto codec = from_av_codec_id(par.codec_id);
  if (!codec) return codec.status();
  const char* name = avcodec_get_name(par.codec_id);
  bool video = is_video_codec(codec.value());
  if ((video && par.codec_type != AVMEDIA_TYPE_VIDEO) || (!video && par.codec_type != AVMEDIA_TYPE_AUDIO)) {
    return Status::errorf("{} parameters have media type {}", name, av_get_media_type_string(par.codec_type)
                                                                       ? av_get_media_type_string(par.codec_type)
                                                                       : "none");
  }
  if (par.extradata_size < 0 || (par.extradata_size > 0 && !par.extradata)) {
    return Status::errorf("{} parameters: extradata size {} without bytes", name, par.extradata_size);
  }
  ByteView extra(par.extradata, size_t(par.extradata_size));
  core::Result<Slice> record = Status::error("");
  switch (codec.value()) {
    case Codec::kMP3:
      return std::optional<core::MediaPacket>();
    case Codec::kVP9:
      record = vp9_record_from(par);
      break;
    case Codec::kOpus:
      if (extra.empty()) {
        OpusHead head;
        if (par.ch_layout.nb_channels < 1 || par.ch_layout.nb_channels > 255) {
          return Status::errorf("opus parameters: {} channels", par.ch_layout.nb_channels);
        }
        head.channels = uint8_t(par.ch_layout.nb_channels);
        head.pre_skip = uint16_t(std::clamp(par.initial_padding, 0, 65535));
        record = build_opus_head(head);
      } else {
        record = Slice::copy_of(extra);
      }
      break;
    default:
      if (extra.empty()) return Status::errorf("{} parameters carry no extradata (decoder configuration)", name);
      if (codec.value() == Codec::kH264) record = avc_config_from_extradata(extra);
      if (codec.value() == Codec::kHEVC) record = hevc_config_from_extradata(extra);
      if (codec.value() == Codec::kAV1) record = av1_record_from(extra);
      if (codec.value() == Codec::kAAC) record = Slice::copy_of(extra);
      break;
  }
  if (!record) return Status::errorf("{} parameters: {}", name, record.error());
  auto pkt = make_config_packet(codec.value(), record->view(), dts_ms);
  if (!pkt) return Status::errorf("{} parameters: {}", name, pkt.error());
  return std::optional<core::MediaPacket>(std::move(pkt.value()));
}

core::Result<core::MediaPacket> make_config_packet(Codec codec, ByteView record, int64_t dts_ms) {
  Slice body;
  uint8_t tag = kFlvTagVideo;
  switch (codec) {
    case Codec::kH264: {
      if (auto c = parse_avc_decoder_config(record); !c) return c.status();
      body = build_video_tag_avc(true, kAvcPacketSequenceHeader, 0, record);
      break;
    }
    case Codec::kHEVC: {
      if (auto c = parse_hevc_decoder_config(record); !c) return c.status();
      body = build_video_tag_enhanced(kFourccHvc1, kVideoFrameKey, kVideoPacketSequenceStart, 0, record);
      break;
    }
    case Codec::kAV1: {
      if (auto c = parse_av1_codec_config(record); !c) return c.status();
      body = build_video_tag_enhanced(kFourccAv01, kVideoFrameKey, kVideoPacketSequenceStart, 0, record);
      break;
    }
    case Codec::kVP9: {
      if (auto c = parse_vp9_codec_config(record); !c) return c.status();
      body = build_video_tag_enhanced(kFourccVp09, kVideoFrameKey, kVideoPacketSequenceStart, 0, record);
      break;
    }
    case Codec::kAAC: {
      auto c = parse_aac_audio_specific_config(record);
      if (!c) return c.status();
      tag = kFlvTagAudio;
      body = build_audio_tag_aac(kAacPacketSequenceHeader, record, c->channel_configuration != 1);
      break;
    }
    case Codec::kOpus: {
      if (auto h = parse_opus_head(record); !h) return h.status();
      tag = kFlvTagAudio;
      body = build_audio_tag_enhanced(kFourccOpus, kAudioPacketSequenceStart, record);
      break;
    }
    default:
      return Status::errorf("codec {} has no config record in FLV", core::codec_name(codec));
  }
  auto pkt = make_media_packet(tag, dts_ms, std::move(body));
  if (!pkt) return pkt.status();
  if (!pkt->is_config() || pkt->codec != codec) {
    return Status::errorf("{} config tag did not parse back as a config", core::codec_name(codec));
  }
  return pkt;
}

core::Result<NalRecord> parse_nal_record(Codec codec, ByteView record, bool with_annexb) {
  NalRecord r;
  // H264SpsInfo and HevcSpsInfo share these fields.
  auto fill = [&r](uint8_t nal_length_size, const auto& sps, int profile, int level) {
    r.nal_length_size = nal_length_size;
    r.width = sps.width;
    r.height = sps.height;
    r.profile = profile;
    r.level = level;
    r.chroma_format = sps.chroma_format_idc;
    r.bit_depth = sps.bit_depth_luma;
  };
  core::Result<Slice> annexb = Slice();
  if (codec == Codec::kH264) {
    auto c = parse_avc_decoder_config(record);
    if (!c) return c.status();
    if (c->sps.empty() || c->pps.empty()) return Status::error("avcC: no SPS or no PPS");
    auto sps = parse_h264_sps(c->sps[0].view());
    if (!sps) return sps.status();
    fill(c->nal_length_size, sps.value(), sps->profile_idc, sps->level_idc);
    if (with_annexb) annexb = avc_config_to_annexb(record);
  } else if (codec == Codec::kHEVC) {
    auto c = parse_hevc_decoder_config(record);
    if (!c) return c.status();
    auto sps_list = c->nalus_of_type(kHevcNalSps);
    if (sps_list.empty()) return Status::error("hvcC: no SPS");
    auto sps = parse_hevc_sps(sps_list[0].view());
    if (!sps) return sps.status();
    fill(c->nal_length_size, sps.value(), sps->general_profile_idc, sps->general_level_idc);
    if (with_annexb) annexb = hevc_config_to_annexb(record);
  } else {
    return Status::errorf("{} has no NAL unit record", core::codec_name(codec));
  }
  if (!annexb) return annexb.status();
  r.annexb = annexb.value();
  return r;
}

int64_t to_ms(int64_t ts, AVRational tb) {
  if (ts == AV_NOPTS_VALUE) return ts;
  return av_rescale_q_rnd(ts, tb, AVRational{1, 1000},
                          AVRounding(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
}

int64_t from_ms(int64_t ms, AVRational tb) {
  if (ms == AV_NOPTS_VALUE) return ms;
  return av_rescale_q_rnd(ms, AVRational{1, 1000}, tb,
                          AVRounding(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
}

}  // namespace weir::protocol::av
