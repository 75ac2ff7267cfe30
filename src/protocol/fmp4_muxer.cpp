#include "protocol/fmp4_muxer.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "core/byte_reader.h"
#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"
#include "protocol/fmp4_in_band.h"
#include "protocol/mp4_box.h"
#include "protocol/opus_head.h"

namespace weir::protocol {

using core::ByteView;
using core::ByteWriter;
using core::Codec;
using core::Slice;
using core::Status;
using core::TrackType;

namespace {

constexpr uint32_t kVideoTimescale = 90000;
constexpr uint32_t kOpusTimescale = 48000;
constexpr uint32_t kAacFrameSamples = 1024;
constexpr uint32_t kDefaultVideoDurationTicks = kVideoTimescale / 25;

// Sample flags (ISO/IEC 14496-12 8.8.3.1): sample_depends_on in bits 25-24,
// sample_is_depended_on in bits 23-22, sample_is_non_sync_sample in bit 16.
constexpr uint32_t kSyncSampleFlags = 0x02000000;     // depends on no other sample
constexpr uint32_t kNonSyncSampleFlags = 0x01010000;  // depends on others, non-sync
constexpr uint32_t kDisposableFlag = 0x00800000;      // no other sample depends on it

// trun flags.
constexpr uint32_t kTrunDataOffset = 0x000001;
constexpr uint32_t kTrunDuration = 0x000100;
constexpr uint32_t kTrunSize = 0x000200;
constexpr uint32_t kTrunFlags = 0x000400;
constexpr uint32_t kTrunCompositionOffset = 0x000800;
// tfhd flags.
constexpr uint32_t kTfhdDefaultBaseIsMoof = 0x020000;

// ms -> ticks, rounded half up; negative times clamp to 0 (dts >= 0 is an
// input rule, see the header).
int64_t ms_to_ticks(int64_t ms, uint32_t timescale) {
  if (ms <= 0) return 0;
  __int128 n = __int128(ms) * timescale + 500;
  n /= 1000;
  if (n > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  return int64_t(n);
}

// Signed variant for presentation times (pts may precede dts by a little with
// some encoders; the composition offset is signed).
int64_t ms_to_ticks_signed(int64_t ms, uint32_t timescale) {
  if (ms >= 0) return ms_to_ticks(ms, timescale);
  return -ms_to_ticks(-ms, timescale);
}

uint32_t clamp_u32(uint64_t v) {
  return v > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                  : uint32_t(v);
}

int32_t clamp_i32(int64_t v) {
  return int32_t(std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(),
                                     std::numeric_limits<int32_t>::max()));
}

// ---- Codec strings (RFC 6381; ISO/IEC 14496-15 E.3; AV1-ISOBMFF Codecs Parameter) ----

std::string hevc_codecs(const HevcConfig& c) {
  static constexpr const char* kSpace[4] = {"", "A", "B", "C"};
  uint32_t compat = 0;
  for (int i = 0; i < 32; ++i) {
    if (c.general_profile_compatibility_flags & (1u << i)) compat |= 1u << (31 - i);
  }
  std::string s = fmt::format("hvc1.{}{}.{:X}.{}{}", kSpace[c.general_profile_space & 3],
                              c.general_profile_idc, compat, c.general_tier_flag ? 'H' : 'L',
                              c.general_level_idc);
  uint8_t bytes[6];
  for (int i = 0; i < 6; ++i) bytes[i] = uint8_t(c.general_constraint_indicator_flags >> (40 - 8 * i));
  int last = 5;
  while (last >= 0 && bytes[last] == 0) --last;
  for (int i = 0; i <= last; ++i) s += fmt::format(".{:02X}", bytes[i]);
  return s;
}

void write_descriptor(ByteWriter& w, uint8_t tag, size_t len) {
  w.u8(tag);
  // expandable size (14496-1 8.3.3), as few 7-bit groups as needed
  int groups = len < (1u << 7) ? 1 : len < (1u << 14) ? 2 : len < (1u << 21) ? 3 : 4;
  for (int i = groups - 1; i >= 0; --i) w.u8(uint8_t(((len >> (7 * i)) & 0x7F) | (i ? 0x80 : 0)));
}

size_t descriptor_size(size_t len) {
  return 1 + (len < (1u << 7) ? 1 : len < (1u << 14) ? 2 : len < (1u << 21) ? 3 : 4) + len;
}

// esds body (ISO/IEC 14496-14 5.6): ES_Descriptor { DecoderConfigDescriptor {
// DecoderSpecificInfo = AudioSpecificConfig }, SLConfigDescriptor }. MPEG-1/2
// audio (oti 0x6B/0x69) has no DecoderSpecificInfo (`asc` empty).
Slice build_esds(uint32_t track_id, uint8_t oti, ByteView asc) {
  ByteWriter w(64 + asc.size());
  w.u32be(0);  // version 0, flags 0
  size_t dsi = asc.empty() ? 0 : descriptor_size(asc.size());
  size_t dcd = descriptor_size(13 + dsi);
  size_t sl = descriptor_size(1);
  write_descriptor(w, 0x03, 3 + dcd + sl);
  w.u16be(uint16_t(track_id));  // ES_ID
  w.u8(0);                      // no dependence, URL or OCR stream
  write_descriptor(w, 0x04, 13 + dsi);
  w.u8(oti);     // objectTypeIndication (14496-1 Table 5)
  w.u8(0x15);    // streamType 5 (audio) << 2 | upStream 0 | reserved 1
  w.u24be(0);    // bufferSizeDB
  w.u32be(0);    // maxBitrate
  w.u32be(0);    // avgBitrate
  if (!asc.empty()) {
    write_descriptor(w, 0x05, asc.size());
    w.bytes(asc);
  }
  write_descriptor(w, 0x06, 1);
  w.u8(0x02);  // predefined: MP4
  return w.finish();
}

// dOps body (Opus in ISOBMFF 4.3.2) from an OpusHead (RFC 7845 5.1).
core::Result<Slice> build_dops(ByteView head_bytes, uint16_t& channels) {
  auto head = parse_opus_head(head_bytes);
  if (!head) return head.status();
  const OpusHead& h = head.value();
  ByteWriter w(32);
  w.u8(0);  // Version
  w.u8(h.channels);
  w.u16be(h.pre_skip);
  w.u32be(h.input_sample_rate);
  w.u16be(uint16_t(h.output_gain));
  w.u8(h.mapping_family);
  if (h.mapping_family != 0) {
    w.u8(h.stream_count);
    w.u8(h.coupled_count);
    w.bytes(ByteView(h.mapping.data(), h.mapping.size()));
  }
  channels = h.channels;
  return w.finish();
}

}  // namespace

// ---- Fmp4Muxer ----------------------------------------------------------------

Fmp4Muxer::Fmp4Muxer(const Fmp4MuxerOptions& options) : options_(options) {
  reset();
}

void Fmp4Muxer::reset() {
  video_ = Track{};
  video_.info.type = TrackType::kVideo;
  audio_ = Track{};
  audio_.info.type = TrackType::kAudio;
  init_taken_ = false;
  change_pending_ = false;
  pending_bytes_ = 0;
}

core::Result<Fmp4AddResult> Fmp4Muxer::add_packet(const core::MediaPacket& pkt) {
  if (pkt.is_data()) {
    ++stats_.samples_ignored;
    return Fmp4AddResult::kIgnored;
  }
  if (pkt.is_config()) return on_config(pkt);
  return on_sample(pkt);
}

struct Fmp4Muxer::Setup {
  Fmp4TrackInfo info;
  uint32_t entry = 0;
  uint32_t cfg_type = 0;
  Slice cfg_box;  // empty for esds: built with the track id in assign_track_ids()
  uint8_t esds_oti = 0;
  std::vector<uint8_t> derived;
};

namespace {

bool is_video_codec(Codec c) {
  return c == Codec::kH264 || c == Codec::kHEVC || c == Codec::kAV1 || c == Codec::kVP9;
}

}  // namespace

core::Result<Fmp4Muxer::Setup> Fmp4Muxer::setup_from_config(const core::MediaPacket& pkt) const {
  Slice payload = pkt.body.sub(pkt.payload_offset);
  Setup s;
  Fmp4TrackInfo& info = s.info;
  info.type = pkt.track;
  info.codec = pkt.codec;
  s.cfg_box = payload;
  switch (pkt.codec) {
    case Codec::kH264: {
      auto c = parse_avc_decoder_config(payload);
      if (!c) return c.status();
      if (c->sps.empty()) return Status::error("avcC: no SPS");
      auto dim = parse_h264_sps_dimensions(c->sps[0].view());
      if (!dim) return dim.status();
      info.width = dim->width;
      info.height = dim->height;
      info.codecs = fmt::format("avc1.{:02x}{:02x}{:02x}", c->profile, c->profile_compat, c->level);
      s.entry = box_type("avc1");
      s.cfg_type = box_type("avcC");
      break;
    }
    case Codec::kHEVC: {
      auto c = parse_hevc_decoder_config(payload);
      if (!c) return c.status();
      auto sps = c->nalus_of_type(kHevcNalSps);
      if (sps.empty()) return Status::error("hvcC: no SPS");
      auto dim = parse_hevc_sps_dimensions(sps[0].view());
      if (!dim) return dim.status();
      info.width = dim->width;
      info.height = dim->height;
      info.codecs = hevc_codecs(*c);
      s.entry = box_type("hvc1");
      s.cfg_type = box_type("hvcC");
      break;
    }
    case Codec::kAV1: {
      auto c = parse_av1_codec_config(payload);
      if (!c) return c.status();
      info.width = options_.width_hint;
      info.height = options_.height_hint;
      std::vector<Obu> obus;
      if (split_obus(c->config_obus.view(), obus)) {
        for (const Obu& o : obus) {
          uint32_t w = 0, h = 0;
          if (o.type == kObuSequenceHeader && parse_av1_sequence_header_size(o.payload, w, h)) {
            info.width = w;
            info.height = h;
            break;
          }
        }
      }
      int depth = c->twelve_bit ? 12 : c->high_bitdepth ? 10 : 8;
      info.codecs = fmt::format("av01.{}.{:02d}{}.{:02d}", c->seq_profile, c->seq_level_idx_0,
                                c->seq_tier_0 ? 'H' : 'M', depth);
      s.entry = box_type("av01");
      s.cfg_type = box_type("av1C");
      break;
    }
    case Codec::kAAC: {
      auto c = parse_aac_audio_specific_config(payload.view());
      if (!c) return c.status();
      if (c->sampling_frequency == 0) return Status::error("AAC config: sampling frequency 0");
      info.sample_rate = c->sampling_frequency;
      info.channels = aac_channel_count(c->channel_configuration);
      info.codecs = fmt::format("mp4a.40.{}", c->ps ? 29 : c->sbr ? 5 : c->object_type);
      s.entry = box_type("mp4a");
      s.cfg_type = box_type("esds");
      s.esds_oti = kOtiMpeg4Audio;
      s.cfg_box = Slice();
      break;
    }
    case Codec::kOpus: {
      uint16_t channels = 0;
      auto d = build_dops(payload.view(), channels);
      if (!d) return d.status();
      info.sample_rate = kOpusTimescale;
      info.channels = channels;
      info.codecs = "Opus";
      s.entry = box_type("Opus");
      s.cfg_type = box_type("dOps");
      s.cfg_box = *d;
      break;
    }
    default:
      return Status::errorf("fmp4: codec {} not supported", core::codec_name(pkt.codec));
  }
  if (pkt.is_video() != is_video_codec(pkt.codec)) {
    return Status::errorf("fmp4: codec {} on the wrong track", core::codec_name(pkt.codec));
  }
  return s;
}

void Fmp4Muxer::assign_track_ids() {
  video_.info.track_id = video_.configured ? 1 : 0;
  audio_.info.track_id = audio_.configured ? (video_.configured ? 2 : 1) : 0;
  if (audio_.configured && audio_.config_box_type == box_type("esds")) {
    // The ES_ID in esds mirrors the track id, so rebuild it.
    audio_.config_box = build_esds(audio_.info.track_id, audio_.esds_oti, audio_.config.view());
  }
}

core::Result<Fmp4AddResult> Fmp4Muxer::on_config(const core::MediaPacket& pkt) {
  Track& t = pkt.is_video() ? video_ : audio_;
  ByteView payload = pkt.payload();
  if (payload.empty() || pkt.codec == Codec::kMP3) {
    // MP3 has no config record (an E-RTMP '.mp3' SequenceStart carries
    // nothing to use): its frames configure the track.
    ++stats_.samples_ignored;
    return Fmp4AddResult::kIgnored;
  }
  if (pkt.codec == Codec::kVP9) {
    // No picture size in the record: it takes effect at the next key frame.
    if (!pkt.is_video()) return Status::error("fmp4: codec vp9 on the wrong track");
    auto c = parse_vp9_codec_config(payload);
    if (!c) return c.status();
    t.vp9_record = pkt.body.sub(pkt.payload_offset);
    return Fmp4AddResult::kConfigStored;
  }
  if (t.configured && t.info.codec == pkt.codec && payload.size() == t.config.size() &&
      std::equal(payload.begin(), payload.end(), t.config.data())) {
    return Fmp4AddResult::kConfigStored;
  }
  auto s = setup_from_config(pkt);
  if (!s) return s.status();
  return reconfigure(t, std::move(*s), pkt.body.sub(pkt.payload_offset), pkt.dts);
}

void Fmp4Muxer::drop_queued(Track& t) {
  // Samples before a pending change's barrier belong to the init the caller
  // holds: they stay.
  const size_t from = std::min(t.barrier, t.ready.size());
  stats_.samples_ignored += t.ready.size() - from + (t.held ? 1 : 0);
  for (size_t i = from; i < t.ready.size(); ++i) pending_bytes_ -= std::min(pending_bytes_, t.ready[i].data.size());
  if (t.held) pending_bytes_ -= std::min(pending_bytes_, t.held->data.size());
  t.ready.resize(from);
  t.held.reset();
}

core::Result<Fmp4AddResult> Fmp4Muxer::reconfigure(Track& t, Setup s, Slice config, int64_t dts) {
  const bool changed = init_taken_;
  uint32_t old_video_id = video_.info.track_id, old_audio_id = audio_.info.track_id;
  const bool was_configured = t.configured;
  const uint32_t old_timescale = t.info.timescale;
  t.info = std::move(s.info);
  t.configured = true;
  t.config = std::move(config);
  t.sample_entry_type = s.entry;
  t.config_box_type = s.cfg_type;
  t.config_box = std::move(s.cfg_box);
  t.esds_oti = s.esds_oti;
  t.derived = std::move(s.derived);
  t.info.timescale = t.info.type == TrackType::kVideo ? kVideoTimescale : t.info.sample_rate;
  t.info.track_id = &t == &video_ ? old_video_id : old_audio_id;
  if (was_configured) t.started = false;  // a new decoder config starts at a keyframe
  if (old_timescale != t.info.timescale) t.have_last = false;  // the old timeline is void
  if (!changed) {
    // The init of the current config was not handed out yet: the next one
    // describes this config, and samples queued under the replaced one
    // (after any pending change's barrier) could never be played with it.
    if (was_configured) drop_queued(t);
    assign_track_ids();
    return Fmp4AddResult::kConfigStored;
  }
  // Samples queued so far belong to the old init segment; the held video
  // sample ends where the new configuration starts (or gets the previous
  // duration if the config packet's dts is not after it).
  complete_held(video_, dts);
  // With nothing queued (the old samples were flushed, as at a change of
  // publisher) there is nothing to keep apart: a barrier at 0 would hold
  // every new sample back until the next flush, so no part could be cut.
  const bool queued = pending_samples() > 0 || video_.barrier != SIZE_MAX || audio_.barrier != SIZE_MAX;
  for (Track* tr : {&video_, &audio_}) {
    if (!queued) break;
    if (tr->barrier == SIZE_MAX) {
      tr->barrier = tr->ready.size();
      tr->barrier_track_id = tr == &video_ ? old_video_id : old_audio_id;
    } else {
      // A second change before the flush: the samples between the two have
      // no init segment to play with; drop them.
      for (size_t i = tr->barrier; i < tr->ready.size(); ++i) pending_bytes_ -= tr->ready[i].data.size();
      tr->ready.resize(tr->barrier);
    }
  }
  assign_track_ids();
  // Whatever changed, the fragments for the new init start at a video sync
  // sample, so the segment that starts with them is independent.
  video_.started = false;
  change_pending_ = true;
  init_taken_ = false;
  ++init_generation_;
  return Fmp4AddResult::kConfigChanged;
}

Status Fmp4Muxer::check_room(size_t samples, size_t bytes, size_t largest) const {
  if (largest > options_.max_sample_size) {
    return Status::errorf("fmp4: sample of {} bytes exceeds max_sample_size {}", largest, options_.max_sample_size);
  }
  if (pending_samples() + samples > options_.max_pending_samples) {
    return Status::errorf("fmp4: {} samples pending, max_pending_samples reached (no fragment cut)",
                          pending_samples());
  }
  if (pending_bytes_ + bytes > options_.max_pending_bytes) {
    return Status::errorf("fmp4: {} bytes pending, max_pending_bytes {} reached (no fragment cut)",
                          pending_bytes_ + bytes, options_.max_pending_bytes);
  }
  return Status::ok();
}

core::Result<Fmp4AddResult> Fmp4Muxer::on_mp3(Track& t, const core::MediaPacket& pkt, const Slice& payload) {
  auto p = split_mp3_packet(payload.view());
  if (!p || !pkt.is_audio()) {
    ++stats_.samples_malformed;
    ++stats_.samples_ignored;
    return Fmp4AddResult::kIgnored;
  }
  size_t largest = 0;
  for (ByteView f : p->frames) largest = std::max(largest, f.size());
  if (Status s = check_room(p->frames.size(), payload.size(), largest); !s) return s;
  const uint32_t rate = p->first.sample_rate;
  Fmp4AddResult result = Fmp4AddResult::kQueued;
  std::vector<uint8_t> key = {p->object_type, p->first.layer, uint8_t(p->channels)};
  for (uint32_t v : {rate, p->first.samples}) {
    for (int sh = 24; sh >= 0; sh -= 8) key.push_back(uint8_t(v >> sh));
  }
  if (!t.configured || t.info.codec != Codec::kMP3 || t.derived != key) {
    Setup s;
    s.info.type = TrackType::kAudio;
    s.info.codec = Codec::kMP3;
    s.info.sample_rate = rate;
    s.info.channels = p->channels;
    s.info.codecs = mp3_codecs(p->object_type);
    s.entry = box_type("mp4a");
    s.cfg_type = box_type("esds");
    s.esds_oti = p->object_type;
    s.derived = std::move(key);
    auto r = reconfigure(t, std::move(s), Slice(), pkt.dts);
    if (!r) return r.status();
    if (*r == Fmp4AddResult::kConfigChanged) result = *r;
  }
  size_t at = 0;
  for (size_t i = 0; i < p->frames.size(); ++i) {
    const size_t len = p->frames[i].size();
    // Frames after the first are at their place on the frame grid.
    const int64_t dts = pkt.dts + int64_t(std::llround(double(i) * p->first.samples * 1000.0 / rate));
    queue_audio(t, payload.sub(at, len), dts, p->first.samples);
    at += len;
  }
  stats_.samples_queued += p->frames.size();
  return result;
}

core::Result<Fmp4AddResult> Fmp4Muxer::on_sample(const core::MediaPacket& pkt) {
  Track& t = pkt.is_video() ? video_ : audio_;
  Slice payload = pkt.body.sub(pkt.payload_offset);
  if (payload.empty() || (pkt.flags & core::packet_flags::kEndOfSequence)) {
    ++stats_.samples_ignored;
    return Fmp4AddResult::kIgnored;
  }
  if (pkt.codec == Codec::kMP3) return on_mp3(t, pkt, payload);
  bool key = pkt.is_keyframe();
  Fmp4AddResult result = Fmp4AddResult::kQueued;
  if (pkt.codec == Codec::kVP9 && pkt.is_video() && key) {
    // The caps first: a sample refused after a reconfiguration would leave
    // a change the caller never heard of.
    if (Status s = check_room(1, payload.size(), payload.size()); !s) return s;
    auto h = parse_vp9_frame_header(payload.view());
    const bool vp9_track = t.configured && t.info.codec == Codec::kVP9;
    if (h && !h->keyframe) {
      key = false;  // flagged as a key frame, but the header says otherwise
    } else {
      auto e = vp9_sample_entry(t.vp9_record.view(), payload.view());
      if (!e) {
        if (!vp9_track) {
          ++stats_.samples_ignored;
          return Status::errorf("fmp4: VP9 key frame at {} ms refused, no sample entry from it: {}", pkt.dts,
                                e.error());
        }
        ++stats_.samples_malformed;
        ++stats_.samples_ignored;
        return Fmp4AddResult::kIgnored;
      }
      if (!vp9_track || t.derived != e->key) {
        Setup s;
        s.info.type = TrackType::kVideo;
        s.info.codec = Codec::kVP9;
        s.info.width = e->width;
        s.info.height = e->height;
        s.info.codecs = e->codecs;
        s.entry = box_type("vp09");
        s.cfg_type = box_type("vpcC");
        s.cfg_box = e->vpcc;
        s.derived = std::move(e->key);
        auto r = reconfigure(t, std::move(s), Slice(), pkt.dts);
        if (!r) return r.status();
        if (*r == Fmp4AddResult::kConfigChanged) result = *r;
      }
    }
  }
  if (!t.configured || pkt.codec != t.info.codec) {
    ++stats_.samples_ignored;
    return Fmp4AddResult::kIgnored;
  }
  if (pkt.is_video() && !t.started) {
    if (!key) {
      ++stats_.samples_ignored;
      return Fmp4AddResult::kIgnored;
    }
    t.started = true;
  }
  if (Status s = check_room(1, payload.size(), payload.size()); !s) return s;
  if (pkt.codec == Codec::kAV1) payload = strip_av1_obus(payload);

  if (pkt.is_video()) {
    const uint32_t ts = t.info.timescale;
    Sample s;
    s.data = payload;
    s.dts_ms = pkt.dts;
    uint64_t d = uint64_t(ms_to_ticks(pkt.dts, ts));
    if (t.have_last && d <= t.last_decode) {
      d = t.last_decode + 1;
      ++stats_.dts_clamped;
    }
    if (t.held) {
      t.held->duration = clamp_u32(d - t.held->decode_time);
      t.last_duration = t.held->duration;
      t.ready.push_back(std::move(*t.held));
      t.held.reset();
    }
    s.decode_time = d;
    s.composition_offset = clamp_i32(ms_to_ticks_signed(pkt.pts, ts) - int64_t(d));
    s.sync = key;
    s.flags = s.sync ? kSyncSampleFlags : kNonSyncSampleFlags;
    if (pkt.flags & core::packet_flags::kDisposable) s.flags |= kDisposableFlag;
    t.last_decode = d;
    t.have_last = true;
    pending_bytes_ += s.data.size();
    t.held = std::move(s);
  } else {
    uint32_t frame = kAacFrameSamples;
    if (pkt.codec == Codec::kOpus) {
      frame = opus_packet_samples(payload.view());
      if (frame == 0) frame = 960;  // unparsable TOC: assume the common 20 ms
    }
    queue_audio(t, payload, pkt.dts, frame);
  }
  ++stats_.samples_queued;
  return result;
}

void Fmp4Muxer::queue_audio(Track& t, Slice data, int64_t dts_ms, uint32_t frame) {
  Sample s;
  s.data = std::move(data);
  s.dts_ms = dts_ms;
  uint64_t d = uint64_t(ms_to_ticks(dts_ms, t.info.timescale));
  if (t.have_last) {
    uint64_t expected = t.last_decode + t.last_duration;
    int64_t dev = int64_t(d) - int64_t(expected);
    // The previous frame may still be adjusted if it is queued and not yet
    // split off by a pending config change.
    bool prev_open = !t.ready.empty() && t.ready.back().decode_time == t.last_decode &&
                     (t.barrier == SIZE_MAX || t.ready.size() > t.barrier);
    if (std::llabs(dev) <= int64_t(frame / 2)) {
      d = expected;
    } else if (dev > 0) {  // gap
      ++stats_.audio_resyncs;
      if (prev_open) t.ready.back().duration = clamp_u32(d - t.last_decode);
    } else {  // overlap: the input clock runs behind the frame count
      ++stats_.audio_resyncs;
      if (prev_open && d > t.last_decode) {
        t.ready.back().duration = uint32_t(d - t.last_decode);
      } else {
        d = std::max(expected, t.last_decode + 1);
      }
    }
  }
  s.decode_time = d;
  s.duration = frame;
  s.sync = true;
  s.flags = kSyncSampleFlags;
  t.last_decode = d;
  t.last_duration = frame;
  t.have_last = true;
  pending_bytes_ += s.data.size();
  t.ready.push_back(std::move(s));
}

void Fmp4Muxer::complete_held(Track& t, std::optional<int64_t> end_dts_ms) {
  if (!t.held) return;
  uint64_t dur = t.last_duration ? t.last_duration : kDefaultVideoDurationTicks;
  if (end_dts_ms) {
    int64_t end = ms_to_ticks(*end_dts_ms, t.info.timescale);
    if (end > int64_t(t.held->decode_time)) dur = uint64_t(end) - t.held->decode_time;
  }
  t.held->duration = clamp_u32(dur);
  t.last_duration = t.held->duration;
  t.ready.push_back(std::move(*t.held));
  t.held.reset();
}

void Fmp4Muxer::end_held_samples(std::optional<int64_t> end_dts_ms) {
  complete_held(video_, end_dts_ms);
  complete_held(audio_, end_dts_ms);
}

size_t Fmp4Muxer::pending_samples() const {
  return video_.ready.size() + audio_.ready.size() + (video_.held ? 1 : 0) +
         (audio_.held ? 1 : 0);
}

size_t Fmp4Muxer::ready_count(const Track& t) const {
  return std::min(t.ready.size(), t.barrier);
}

bool Fmp4Muxer::has_old_config_samples() const {
  return (video_.barrier != SIZE_MAX && ready_count(video_) > 0) ||
         (audio_.barrier != SIZE_MAX && ready_count(audio_) > 0);
}

bool Fmp4Muxer::has_ready_samples() const {
  return ready_count(video_) > 0 || ready_count(audio_) > 0;
}

const Fmp4Muxer::Track* Fmp4Muxer::primary_ready_track() const {
  if (ready_count(video_) > 0) return &video_;
  if (ready_count(audio_) > 0) return &audio_;
  return nullptr;
}

Fmp4Muxer::Track* Fmp4Muxer::primary_ready_track() {
  return const_cast<Track*>(std::as_const(*this).primary_ready_track());
}

double Fmp4Muxer::ready_duration_ms() const {
  const Track* t = primary_ready_track();
  if (!t) return 0;
  uint64_t sum = 0;
  for (size_t i = 0; i < ready_count(*t); ++i) sum += t->ready[i].duration;
  return double(sum) * 1000.0 / t->info.timescale;
}

std::vector<Fmp4TrackInfo> Fmp4Muxer::tracks() const {
  std::vector<Fmp4TrackInfo> out;
  if (video_.configured) out.push_back(video_.info);
  if (audio_.configured) out.push_back(audio_.info);
  return out;
}

std::string Fmp4Muxer::codecs() const {
  std::string s;
  for (const auto& t : tracks()) {
    if (!s.empty()) s += ',';
    s += t.codecs;
  }
  return s;
}

// ---- init segment -------------------------------------------------------------

void Fmp4Muxer::write_sample_entry(ByteWriter& w, const Track& t) const {
  size_t entry = begin_box(w, t.sample_entry_type);
  w.zeros(6);    // reserved
  w.u16be(1);    // data_reference_index
  if (t.info.type == TrackType::kVideo) {
    w.u16be(0);  // pre_defined
    w.u16be(0);  // reserved
    w.zeros(12); // pre_defined
    w.u16be(uint16_t(std::min<uint32_t>(t.info.width, 0xFFFF)));
    w.u16be(uint16_t(std::min<uint32_t>(t.info.height, 0xFFFF)));
    w.u32be(0x00480000);  // horizresolution 72 dpi
    w.u32be(0x00480000);  // vertresolution
    w.u32be(0);           // reserved
    w.u16be(1);           // frame_count
    w.zeros(32);          // compressorname
    w.u16be(0x0018);      // depth
    w.u16be(0xFFFF);      // pre_defined = -1
  } else {
    w.zeros(8);           // reserved
    w.u16be(t.info.channels);
    w.u16be(16);          // samplesize
    w.u16be(0);           // pre_defined
    w.u16be(0);           // reserved
    w.u32be(t.info.sample_rate <= 0xFFFF ? t.info.sample_rate << 16 : 0);
  }
  size_t cfg = begin_box(w, t.config_box_type);
  w.bytes(t.config_box.view());
  end_box(w, cfg);
  end_box(w, entry);
}

void Fmp4Muxer::write_trak(ByteWriter& w, const Track& t) const {
  const bool video = t.info.type == TrackType::kVideo;
  size_t trak = begin_box(w, box_type("trak"));

  size_t tkhd = begin_full_box(w, box_type("tkhd"), 0, 0x000003);  // enabled, in movie
  w.u32be(0);  // creation_time
  w.u32be(0);  // modification_time
  w.u32be(t.info.track_id);
  w.u32be(0);  // reserved
  w.u32be(0);  // duration (fragmented: in the fragments)
  w.zeros(8);  // reserved
  w.u16be(0);  // layer
  w.u16be(0);  // alternate_group
  w.u16be(video ? 0 : 0x0100);  // volume
  w.u16be(0);  // reserved
  write_unity_matrix(w);
  w.u32be(video ? std::min<uint32_t>(t.info.width, 0xFFFF) << 16 : 0);
  w.u32be(video ? std::min<uint32_t>(t.info.height, 0xFFFF) << 16 : 0);
  end_box(w, tkhd);

  size_t mdia = begin_box(w, box_type("mdia"));
  size_t mdhd = begin_full_box(w, box_type("mdhd"), 0, 0);
  w.u32be(0);  // creation_time
  w.u32be(0);  // modification_time
  w.u32be(t.info.timescale);
  w.u32be(0);  // duration
  w.u16be(0x55C4);  // language "und" (ISO-639-2/T, packed 5-bit)
  w.u16be(0);       // pre_defined
  end_box(w, mdhd);

  size_t hdlr = begin_full_box(w, box_type("hdlr"), 0, 0);
  w.u32be(0);  // pre_defined
  w.u32be(video ? box_type("vide") : box_type("soun"));
  w.zeros(12);  // reserved
  w.bytes(video ? std::string_view("VideoHandler", 13) : std::string_view("SoundHandler", 13));
  end_box(w, hdlr);

  size_t minf = begin_box(w, box_type("minf"));
  if (video) {
    size_t vmhd = begin_full_box(w, box_type("vmhd"), 0, 1);
    w.zeros(8);  // graphicsmode, opcolor
    end_box(w, vmhd);
  } else {
    size_t smhd = begin_full_box(w, box_type("smhd"), 0, 0);
    w.u32be(0);  // balance, reserved
    end_box(w, smhd);
  }
  size_t dinf = begin_box(w, box_type("dinf"));
  size_t dref = begin_full_box(w, box_type("dref"), 0, 0);
  w.u32be(1);  // entry_count
  end_box(w, begin_full_box(w, box_type("url "), 0, 1));  // media in this file
  end_box(w, dref);
  end_box(w, dinf);

  size_t stbl = begin_box(w, box_type("stbl"));
  size_t stsd = begin_full_box(w, box_type("stsd"), 0, 0);
  w.u32be(1);  // entry_count
  write_sample_entry(w, t);
  end_box(w, stsd);
  for (uint32_t type : {box_type("stts"), box_type("stsc"), box_type("stco")}) {
    size_t b = begin_full_box(w, type, 0, 0);
    w.u32be(0);  // entry_count
    end_box(w, b);
  }
  size_t stsz = begin_full_box(w, box_type("stsz"), 0, 0);
  w.u32be(0);  // sample_size
  w.u32be(0);  // sample_count
  end_box(w, stsz);
  end_box(w, stbl);
  end_box(w, minf);
  end_box(w, mdia);
  end_box(w, trak);
}

core::Result<Slice> Fmp4Muxer::init_segment() {
  std::vector<const Track*> tracks;
  if (video_.configured) tracks.push_back(&video_);
  if (audio_.configured) tracks.push_back(&audio_);
  if (tracks.empty()) return Status::error("fmp4: no track configured");
  init_taken_ = true;

  ByteWriter w(1024);
  size_t ftyp = begin_box(w, box_type("ftyp"));
  w.u32be(box_type("iso6"));  // major_brand
  w.u32be(0);                 // minor_version
  w.u32be(box_type("iso6"));
  // CMAF (ISO/IEC 23000-19 7.2) allows one track per file; claim it only then.
  if (tracks.size() == 1) w.u32be(box_type("cmfc"));
  w.u32be(box_type("mp41"));
  end_box(w, ftyp);

  size_t moov = begin_box(w, box_type("moov"));
  size_t mvhd = begin_full_box(w, box_type("mvhd"), 0, 0);
  w.u32be(0);           // creation_time
  w.u32be(0);           // modification_time
  w.u32be(1000);        // timescale
  w.u32be(0);           // duration
  w.u32be(0x00010000);  // rate 1.0
  w.u16be(0x0100);      // volume 1.0
  w.zeros(10);          // reserved
  write_unity_matrix(w);
  w.zeros(24);          // pre_defined
  w.u32be(uint32_t(tracks.size()) + 1);  // next_track_ID
  end_box(w, mvhd);
  for (const Track* t : tracks) write_trak(w, *t);
  size_t mvex = begin_box(w, box_type("mvex"));
  for (const Track* t : tracks) {
    size_t trex = begin_full_box(w, box_type("trex"), 0, 0);
    w.u32be(t->info.track_id);
    w.u32be(1);  // default_sample_description_index
    w.u32be(0);  // default_sample_duration
    w.u32be(0);  // default_sample_size
    w.u32be(0);  // default_sample_flags
    end_box(w, trex);
  }
  end_box(w, mvex);
  end_box(w, moov);
  return w.finish();
}

// ---- fragments ------------------------------------------------------------------

Fmp4Fragment Fmp4Muxer::flush_fragment(uint32_t sequence_number) {
  Fmp4Fragment frag;
  frag.sequence_number = sequence_number;

  struct Run {
    Track* track;
    uint32_t track_id;
    size_t count;
    size_t data_offset_at = 0;
    uint64_t bytes = 0;
  };
  std::vector<Run> runs;
  for (Track* t : {&video_, &audio_}) {
    size_t n = ready_count(*t);
    uint32_t id = t->barrier != SIZE_MAX ? t->barrier_track_id : t->info.track_id;
    if (n > 0) runs.push_back({t, id, n});
  }
  if (runs.empty()) {
    for (Track* t : {&video_, &audio_}) t->barrier = SIZE_MAX;
    change_pending_ = false;
    return frag;
  }

  size_t total_bytes = 0;
  for (Run& r : runs) {
    for (size_t i = 0; i < r.count; ++i) r.bytes += r.track->ready[i].data.size();
    total_bytes += r.bytes;
  }

  ByteWriter w(256 + total_bytes + 16 * pending_samples());
  size_t moof = begin_box(w, box_type("moof"));
  size_t mfhd = begin_full_box(w, box_type("mfhd"), 0, 0);
  w.u32be(sequence_number);
  end_box(w, mfhd);
  for (Run& r : runs) {
    const bool video = r.track->info.type == TrackType::kVideo;
    size_t traf = begin_box(w, box_type("traf"));
    size_t tfhd = begin_full_box(w, box_type("tfhd"), 0, kTfhdDefaultBaseIsMoof);
    w.u32be(r.track_id);
    end_box(w, tfhd);
    size_t tfdt = begin_full_box(w, box_type("tfdt"), 1, 0);
    w.u64be(r.track->ready.front().decode_time);
    end_box(w, tfdt);
    uint32_t flags = kTrunDataOffset | kTrunDuration | kTrunSize | kTrunFlags;
    if (video) flags |= kTrunCompositionOffset;
    size_t trun = begin_full_box(w, box_type("trun"), 1, flags);
    w.u32be(uint32_t(r.count));
    r.data_offset_at = w.size();
    w.u32be(0);  // data_offset, patched below
    for (size_t i = 0; i < r.count; ++i) {
      const Sample& s = r.track->ready[i];
      w.u32be(s.duration);
      w.u32be(uint32_t(s.data.size()));
      w.u32be(s.flags);
      if (video) w.u32be(uint32_t(s.composition_offset));
    }
    end_box(w, trun);
    end_box(w, traf);
  }
  end_box(w, moof);

  // mdat: the runs back to back, each trun's data_offset counted from the
  // first byte of the moof (default-base-is-moof).
  uint64_t offset = w.size() - moof + kBoxHeaderSize;
  for (Run& r : runs) {
    w.patch_u32be(r.data_offset_at, uint32_t(offset));
    offset += r.bytes;
  }
  size_t mdat = begin_box(w, box_type("mdat"));
  int64_t first_dts = std::numeric_limits<int64_t>::max();
  for (Run& r : runs) {
    for (size_t i = 0; i < r.count; ++i) {
      const Sample& s = r.track->ready[i];
      w.bytes(s.data.view());
      first_dts = std::min(first_dts, s.dts_ms);
    }
  }
  end_box(w, mdat);

  const Track* primary = runs.front().track;
  uint64_t primary_ticks = 0;
  for (size_t i = 0; i < runs.front().count; ++i) primary_ticks += primary->ready[i].duration;
  frag.duration_ms = double(primary_ticks) * 1000.0 / primary->info.timescale;
  frag.first_dts_ms = first_dts;
  for (Run& r : runs) {
    if (r.track == &video_) frag.video_samples = uint32_t(r.count);
    else frag.audio_samples = uint32_t(r.count);
  }
  // A fragment of a stream with video can start playback only at a video sync
  // sample; audio-only output is all sync samples.
  frag.independent = video_.configured
                         ? runs.front().track == &video_ && video_.ready.front().sync
                         : true;
  frag.data = w.finish();

  for (Run& r : runs) {
    r.track->ready.erase(r.track->ready.begin(), r.track->ready.begin() + long(r.count));
  }
  pending_bytes_ -= std::min(pending_bytes_, total_bytes);
  for (Track* t : {&video_, &audio_}) t->barrier = SIZE_MAX;
  change_pending_ = false;
  ++stats_.fragments;
  return frag;
}

}  // namespace weir::protocol
