#include "protocol/ts_muxer.h"

#include <algorithm>
#include <cstring>

#include "protocol/ts_packet.h"

namespace weir::protocol {

using core::ByteView;
using core::Codec;
using core::Status;

namespace {

constexpr uint8_t kH264NalAud = 9;
constexpr uint8_t kH264NalIdr = 5;
constexpr uint8_t kH264NalSps = 7;
constexpr uint8_t kH264NalPps = 8;
constexpr uint8_t kHevcNalAud = 35;

constexpr uint8_t kH264Aud[] = {0x09, 0xF0};        // primary_pic_type 7 (any), stop bit
constexpr uint8_t kHevcAud[] = {0x46, 0x01, 0x50};  // type 35, tid 1; pic_type 2, stop bit

// Tables in an audio-only program with tables_before_keyframes: every 500 ms.
constexpr int64_t kAudioOnlyTableInterval = 45000;
// An adaptation-only PCR packet is inserted when audio runs this far past the
// last PCR. ISO/IEC 13818-1 2.7.2 allows at most 100 ms between PCRs; 50 ms
// leaves room for the audio step (about 21-26 ms per single-frame PES).
constexpr int64_t kMaxPcrGap = 4500;
// A PCR that would go back by more than this is written as a discontinuity
// instead of being held at the previous value.
constexpr int64_t kPcrBackwardJump = 90000;
// Largest payload of a bounded PES (PES_packet_length counts 3 + 10 header bytes).
constexpr size_t kMaxBoundedPesPayload = 0xFFFF - 13;

int64_t mask33(int64_t t) { return t & (kTsTimestampModulo - 1); }

void start_code(core::ByteWriter& w) { w.u32be(1); }

}  // namespace

TsMuxer::TsMuxer(const TsMuxerOptions& options) : options_(options) {
  options_.audio_frames_per_pes = std::clamp<size_t>(options_.audio_frames_per_pes, 1, 64);
  update_pmt_identity();
}

Status TsMuxer::set_video(Codec codec, ByteView config) {
  Track t;
  t.codec = codec;
  switch (codec) {
    case Codec::kUnknown:
      break;
    case Codec::kH264: {
      auto c = parse_avc_decoder_config(config);
      if (!c) return Status::errorf("ts mux: {}", c.error());
      t.nal_length_size = c->nal_length_size;
      for (const core::Slice& s : c->sps) t.param_sets.push_back(s);
      for (const core::Slice& s : c->sps_ext) t.param_sets.push_back(s);
      for (const core::Slice& s : c->pps) t.param_sets.push_back(s);
      break;
    }
    case Codec::kHEVC: {
      auto c = parse_hevc_decoder_config(config);
      if (!c) return Status::errorf("ts mux: {}", c.error());
      t.nal_length_size = c->nal_length_size;
      for (uint8_t type : {kHevcNalVps, kHevcNalSps, kHevcNalPps}) {
        for (const core::Slice& s : c->nalus_of_type(type)) t.param_sets.push_back(s);
      }
      break;
    }
    default:
      return Status::errorf("ts mux: video codec {} is not supported", core::codec_name(codec));
  }
  if (codec != Codec::kUnknown) t.config = core::Slice::copy_of(config);
  video_ = std::move(t);
  update_pmt_identity();
  return Status::ok();
}

Status TsMuxer::set_audio(Codec codec, ByteView config) {
  Track t;
  t.codec = codec;
  switch (codec) {
    case Codec::kUnknown:
    case Codec::kMP3:
      break;
    case Codec::kAAC: {
      auto c = parse_aac_audio_specific_config(config);
      if (!c) return Status::errorf("ts mux: {}", c.error());
      if (auto h = build_adts_header(c.value(), 0); !h) return Status::errorf("ts mux: {}", h.error());
      t.aac = c.value();
      t.sample_rate = c->sampling_frequency;
      t.channels = c->channel_configuration;
      break;
    }
    case Codec::kOpus: {
      // OpusHead (RFC 7845 5.1): "OpusHead", version, channel count, ...
      if (!config.empty()) {
        if (config.size() < 19 || std::memcmp(config.data(), "OpusHead", 8) != 0) {
          return Status::errorf("ts mux: Opus config of {} bytes is not an OpusHead", config.size());
        }
        t.channels = config[9];
      }
      if (t.channels < 1 || t.channels > 2) {
        return Status::errorf("ts mux: Opus with {} channels is not supported (1 or 2 only)", t.channels);
      }
      t.sample_rate = 48000;
      break;
    }
    default:
      return Status::errorf("ts mux: audio codec {} is not supported", core::codec_name(codec));
  }
  if (codec != Codec::kUnknown) t.config = core::Slice::copy_of(config);
  // A different config ends the pending PES: its frames belong to the old one.
  if (pending_frames_ && (audio_.codec != codec || audio_.sample_rate != t.sample_rate)) {
    pending_audio_.clear();
    pending_frames_ = 0;
  }
  audio_ = std::move(t);
  update_pmt_identity();
  return Status::ok();
}

std::vector<PmtStreamSpec> TsMuxer::pmt_streams() const {
  std::vector<PmtStreamSpec> streams;
  if (video_.codec == Codec::kH264) streams.push_back({kStreamTypeH264, kTsPidVideo, {}});
  // HEVC carries a registration descriptor "HEVC" as FFmpeg writes it.
  if (video_.codec == Codec::kHEVC) {
    streams.push_back({kStreamTypeHevc, kTsPidVideo, {kTsDescriptorRegistration, 4, 'H', 'E', 'V', 'C'}});
  }
  switch (audio_.codec) {
    case Codec::kAAC: streams.push_back({kStreamTypeAacAdts, kTsPidAudio, {}}); break;
    case Codec::kMP3: streams.push_back({kStreamTypeMpeg1Audio, kTsPidAudio, {}}); break;
    case Codec::kOpus:
      // Registration descriptor "Opus", then the DVB extension descriptor with
      // extension tag 0x80 and channel_config_code = channel count (1 or 2).
      streams.push_back({kStreamTypePrivatePes,
                         kTsPidAudio,
                         {kTsDescriptorRegistration, 4, 'O', 'p', 'u', 's', kTsDescriptorExtension, 2, 0x80,
                          audio_.channels}});
      break;
    default: break;
  }
  return streams;
}

void TsMuxer::update_pmt_identity() {
  std::vector<uint8_t> id;
  for (const PmtStreamSpec& s : pmt_streams()) {
    id.push_back(s.stream_type);
    id.push_back(uint8_t(s.pid >> 8));
    id.push_back(uint8_t(s.pid));
    id.push_back(uint8_t(s.descriptors.size()));
    id.insert(id.end(), s.descriptors.begin(), s.descriptors.end());
  }
  pmt_identity_ = std::move(id);
}

uint8_t& TsMuxer::cc_for(uint16_t pid) {
  switch (pid) {
    case kTsPidPat: return cc_pat_;
    case kTsPidPmt: return cc_pmt_;
    case kTsPidVideo: return cc_video_;
    case kTsPidAudio: return cc_audio_;
    default: return cc_other_;
  }
}

uint8_t TsMuxer::next_continuity_counter(uint16_t pid) const {
  switch (pid) {
    case kTsPidPat: return cc_pat_;
    case kTsPidPmt: return cc_pmt_;
    case kTsPidVideo: return cc_video_;
    case kTsPidAudio: return cc_audio_;
    default: return cc_other_;
  }
}

void TsMuxer::write_section(core::ByteWriter& out, uint16_t pid, const std::vector<uint8_t>& section) {
  size_t pos = 0;
  bool first = true;
  while (first || pos < section.size()) {
    uint8_t* p = out.grow(kTsPacketSize);
    uint8_t& cc = cc_for(pid);
    p[0] = kTsSyncByte;
    p[1] = uint8_t((first ? 0x40 : 0) | (pid >> 8 & 0x1F));
    p[2] = uint8_t(pid);
    p[3] = uint8_t(0x10 | cc);
    cc = (cc + 1) & 0x0F;
    size_t at = 4;
    if (first) p[at++] = 0;  // pointer_field
    size_t n = std::min(section.size() - pos, kTsPacketSize - at);
    std::memcpy(p + at, section.data() + pos, n);
    at += n;
    pos += n;
    std::memset(p + at, 0xFF, kTsPacketSize - at);
    first = false;
  }
}

void TsMuxer::emit_tables(core::ByteWriter& out) {
  if (tables_written_ && pmt_identity_ != written_identity_) pmt_version_ = (pmt_version_ + 1) & 0x1F;
  uint16_t pcr_pid = has_video() ? kTsPidVideo : has_audio() ? kTsPidAudio : kTsPidNull;
  write_section(out, kTsPidPat,
                build_pat_section(options_.transport_stream_id, options_.program_number, kTsPidPmt));
  write_section(out, kTsPidPmt,
                build_pmt_section(options_.program_number, pcr_pid, pmt_streams(), pmt_version_));
  written_identity_ = pmt_identity_;
  tables_written_ = true;
}

void TsMuxer::write_tables(core::ByteWriter& out) {
  flush_audio(out);
  emit_tables(out);
}

void TsMuxer::maybe_write_tables(core::ByteWriter& out, bool keyframe, int64_t dts90) {
  bool need = !tables_written_ || pmt_identity_ != written_identity_;
  if (options_.tables_before_keyframes) {
    if (has_video()) {
      need |= keyframe;
    } else {
      need |= last_tables_dts_ == INT64_MIN || dts90 < last_tables_dts_ ||
              dts90 - last_tables_dts_ >= kAudioOnlyTableInterval;
    }
  }
  if (!need) return;
  emit_tables(out);
  last_tables_dts_ = dts90;
}

int64_t TsMuxer::next_pcr(int64_t dts90, bool* discontinuity) {
  int64_t pcr = dts90 - options_.pcr_delay;
  // A stream starting near 0 keeps its PCR at 0 rather than wrapping to 2^33.
  if (pcr < 0 && dts90 >= 0) pcr = 0;
  *discontinuity = false;
  if (have_pcr_ && pcr < last_pcr_) {
    if (last_pcr_ - pcr > kPcrBackwardJump) {
      *discontinuity = true;
    } else {
      pcr = last_pcr_;
    }
  }
  have_pcr_ = true;
  last_pcr_ = pcr;
  return pcr;
}

namespace {

void put_pcr(uint8_t* p, int64_t pcr90) {
  uint64_t base = uint64_t(mask33(pcr90));
  p[0] = uint8_t(base >> 25);
  p[1] = uint8_t(base >> 17);
  p[2] = uint8_t(base >> 9);
  p[3] = uint8_t(base >> 1);
  p[4] = uint8_t((base & 1) << 7 | 0x7E);  // 6 reserved bits, extension high bit 0
  p[5] = 0;
}

}  // namespace

void TsMuxer::write_pes(core::ByteWriter& out, uint16_t pid, ByteView hdr, ByteView payload,
                        bool random_access, bool with_pcr, int64_t pcr90, bool discontinuity) {
  size_t total = hdr.size() + payload.size();
  size_t pos = 0;
  bool first = true;
  uint8_t& cc = cc_for(pid);
  while (pos < total) {
    uint8_t* p = out.grow(kTsPacketSize);
    p[0] = kTsSyncByte;
    p[1] = uint8_t((first ? 0x40 : 0) | (pid >> 8 & 0x1F));
    p[2] = uint8_t(pid);
    // Adaptation field content before stuffing: flags byte (+ PCR).
    uint8_t flags = 0;
    size_t af_body = 0;  // bytes after the length byte
    bool has_af = false;
    if (first && (random_access || with_pcr)) {
      has_af = true;
      flags = uint8_t((random_access ? 0x40 : 0) | (with_pcr ? 0x10 : 0) |
                      (with_pcr && discontinuity ? 0x80 : 0));
      af_body = 1 + (with_pcr ? 6 : 0);
    }
    size_t space = kTsPacketSize - 4 - (has_af ? 1 + af_body : 0);
    size_t remain = total - pos;
    size_t n = std::min(space, remain);
    size_t af_len = has_af ? af_body : 0;
    if (remain < space) {
      has_af = true;
      af_len = kTsPacketSize - 4 - 1 - remain;
    }
    p[3] = uint8_t((has_af ? 0x30 : 0x10) | cc);
    cc = (cc + 1) & 0x0F;
    size_t at = 4;
    if (has_af) {
      p[at++] = uint8_t(af_len);
      size_t af_end = at + af_len;
      if (af_len > 0) {
        p[at++] = flags;
        if (flags & 0x10) {
          put_pcr(p + at, pcr90);
          at += 6;
        }
        std::memset(p + at, 0xFF, af_end - at);
        at = af_end;
      }
    }
    // Copy n bytes of header ++ payload starting at pos.
    size_t left = n;
    while (left) {
      if (pos < hdr.size()) {
        size_t k = std::min(left, hdr.size() - pos);
        std::memcpy(p + at, hdr.data() + pos, k);
        at += k;
        pos += k;
        left -= k;
      } else {
        size_t k = left;
        std::memcpy(p + at, payload.data() + (pos - hdr.size()), k);
        at += k;
        pos += k;
        left -= k;
      }
    }
    first = false;
  }
}

void TsMuxer::write_pcr_only(core::ByteWriter& out, uint16_t pid, int64_t pcr90, bool discontinuity) {
  uint8_t* p = out.grow(kTsPacketSize);
  p[0] = kTsSyncByte;
  p[1] = uint8_t(pid >> 8 & 0x1F);
  p[2] = uint8_t(pid);
  // Adaptation field only: the continuity counter repeats the last one sent
  // (13818-1 2.4.3.3: it does not advance without payload).
  p[3] = uint8_t(0x20 | ((cc_for(pid) - 1) & 0x0F));
  p[4] = 183;
  p[5] = discontinuity ? 0x90 : 0x10;
  put_pcr(p + 6, pcr90);
  std::memset(p + 12, 0xFF, kTsPacketSize - 12);
}

Status TsMuxer::write_packet(core::ByteWriter& out, const core::MediaPacket& pkt) {
  if (pkt.is_data()) return Status::ok();
  if (pkt.is_config()) {
    return pkt.is_video() ? set_video(pkt.codec, pkt.payload()) : set_audio(pkt.codec, pkt.payload());
  }
  if (pkt.payload().empty()) return Status::ok();
  return pkt.is_video() ? write_video(out, pkt) : write_audio(out, pkt);
}

Status TsMuxer::write_video(core::ByteWriter& out, const core::MediaPacket& pkt) {
  if (!has_video()) return Status::error("ts mux: video packet but no video track");
  if (pkt.codec != video_.codec) {
    return Status::errorf("ts mux: {} video packet on a {} track", core::codec_name(pkt.codec),
                          core::codec_name(video_.codec));
  }
  bool hevc = video_.codec == Codec::kHEVC;
  auto nals = split_length_prefixed(pkt.payload(), video_.nal_length_size);
  if (!nals) return Status::errorf("ts mux: {}", nals.error());
  auto type_of = [&](ByteView n) { return hevc ? hevc_nal_type(n[0]) : h264_nal_type(n[0]); };
  uint8_t aud_type = hevc ? kHevcNalAud : kH264NalAud;
  bool first_is_aud = false, has_vps = false, has_sps = false, has_pps = false, random_access = false;
  size_t size = 0;
  for (size_t i = 0; i < nals->size(); ++i) {
    ByteView n = (*nals)[i];
    if (hevc && n.size() < 2) return Status::errorf("ts mux: HEVC NAL unit {} of {} byte", i, n.size());
    uint8_t t = type_of(n);
    if (i == 0 && t == aud_type) first_is_aud = true;
    if (hevc) {
      has_vps |= t == kHevcNalVps;
      has_sps |= t == kHevcNalSps;
      has_pps |= t == kHevcNalPps;
      random_access |= t >= 16 && t <= 21;  // IRAP: BLA, IDR, CRA
    } else {
      has_sps |= t == kH264NalSps;
      has_pps |= t == kH264NalPps;
      random_access |= t == kH264NalIdr;
    }
    size += 4 + n.size();
  }
  bool keyframe = pkt.is_keyframe() || random_access;
  bool add_params = keyframe && !(has_sps && has_pps && (has_vps || !hevc));
  if (add_params) {
    for (const core::Slice& s : video_.param_sets) size += 4 + s.size();
  }
  // Output order: one AUD first, the decoder config's parameter sets if the
  // keyframe lacks them, then the AU's NAL units without any other AUD.
  ByteView own_aud = hevc ? ByteView(kHevcAud) : ByteView(kH264Aud);
  core::ByteWriter es(size + own_aud.size() + 8);
  start_code(es);
  es.bytes(first_is_aud ? (*nals)[0] : own_aud);
  if (add_params) {
    for (const core::Slice& s : video_.param_sets) {
      start_code(es);
      es.bytes(s.view());
    }
  }
  for (ByteView n : nals.value()) {
    if (type_of(n) == aud_type) continue;
    start_code(es);
    es.bytes(n);
  }

  int64_t dts90 = pkt.dts * 90 + options_.timestamp_offset;
  int64_t pts90 = std::max(pkt.pts, pkt.dts) * 90 + options_.timestamp_offset;
  if (keyframe) flush_audio(out);
  maybe_write_tables(out, keyframe, dts90);
  bool disc = false;
  int64_t pcr = next_pcr(dts90, &disc);
  core::ByteWriter hdr(32);
  write_pes_header(hdr, kPesStreamIdVideo, mask33(pts90), mask33(dts90), es.size(), options_.bounded_video_pes);
  write_pes(out, kTsPidVideo, hdr.view(), es.view(), keyframe, true, pcr, disc);
  return Status::ok();
}

Status TsMuxer::write_audio(core::ByteWriter& out, const core::MediaPacket& pkt) {
  // MP3 has no sequence header in FLV: the first frame configures the track.
  if (!has_audio() && pkt.codec == Codec::kMP3) {
    if (Status s = set_audio(Codec::kMP3, {}); !s) return s;
  }
  if (!has_audio()) return Status::error("ts mux: audio packet but no audio track");
  if (pkt.codec != audio_.codec) {
    return Status::errorf("ts mux: {} audio packet on a {} track", core::codec_name(pkt.codec),
                          core::codec_name(audio_.codec));
  }
  ByteView frame = pkt.payload();
  int64_t pts90 = pkt.pts * 90 + options_.timestamp_offset;
  if (audio_.codec == Codec::kAAC) {
    auto adts = build_adts_header(audio_.aac, frame.size());
    if (!adts) return Status::errorf("ts mux: {}", adts.error());
    int64_t frame90 = int64_t(1024) * kTsClock / std::max<uint32_t>(audio_.sample_rate, 1);
    if (pending_frames_) {
      int64_t gap = pts90 - pending_end90_;
      bool contiguous = gap > -frame90 / 2 && gap < frame90 / 2;
      if (!contiguous || pending_audio_.size() + 7 + frame.size() > kMaxBoundedPesPayload) {
        flush_audio(out);
      }
    }
    if (!pending_frames_) {
      pending_pts90_ = pts90;
      pending_end90_ = pts90;
    }
    pending_audio_.bytes(ByteView(adts->data(), adts->size()));
    pending_audio_.bytes(frame);
    ++pending_frames_;
    pending_end90_ += frame90;
    if (pending_frames_ >= options_.audio_frames_per_pes) flush_audio(out);
    return Status::ok();
  }
  // MP3 and Opus: one PES per packet.
  core::ByteWriter es(frame.size() + 16);
  if (audio_.codec == Codec::kOpus) {
    // opus_control_header (ETSI TS 102 366 annex style, as FFmpeg writes it):
    // 11-bit prefix 0x3FF, no trim flags, then au_size as 0xFF-continued bytes.
    es.u8(0x7F);
    es.u8(0xE0);
    size_t n = frame.size();
    while (n >= 255) {
      es.u8(0xFF);
      n -= 255;
    }
    es.u8(uint8_t(n));
  }
  es.bytes(frame);
  if (es.size() > kMaxBoundedPesPayload) {
    return Status::errorf("ts mux: audio frame of {} bytes does not fit a PES", frame.size());
  }
  flush_audio(out);
  pending_pts90_ = pts90;
  pending_audio_.bytes(es.view());
  pending_frames_ = 1;
  flush_audio(out);
  return Status::ok();
}

void TsMuxer::flush_audio(core::ByteWriter& out) {
  if (!pending_frames_) return;
  int64_t pts90 = pending_pts90_;
  maybe_write_tables(out, false, pts90);
  bool with_pcr = !has_video();
  bool disc = false;
  int64_t pcr = 0;
  if (with_pcr) {
    pcr = next_pcr(pts90, &disc);
  } else if (!have_pcr_ || pts90 - options_.pcr_delay - last_pcr_ >= kMaxPcrGap) {
    // Sparse or not yet started video: keep the PCR going from the audio.
    bool d = false;
    int64_t p = next_pcr(pts90, &d);
    write_pcr_only(out, kTsPidVideo, p, d);
  }
  core::ByteWriter hdr(32);
  uint8_t sid = audio_.codec == Codec::kOpus ? kPesStreamIdPrivate1 : kPesStreamIdAudio;
  write_pes_header(hdr, sid, mask33(pts90), mask33(pts90), pending_audio_.size(), true);
  write_pes(out, kTsPidAudio, hdr.view(), pending_audio_.view(), true, with_pcr, pcr, disc);
  pending_audio_.clear();
  pending_frames_ = 0;
}

void TsMuxer::flush(core::ByteWriter& out) { flush_audio(out); }

}  // namespace weir::protocol
