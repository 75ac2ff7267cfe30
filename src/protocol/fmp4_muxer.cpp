#include "protocol/fmp4_muxer.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/byte_reader.h"
#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"
#include "protocol/fmp4_boxes.h"
#include "protocol/fmp4_in_band.h"
#include "protocol/mp4_box.h"
#include "protocol/opus_head.h"

namespace weir::protocol {

using namespace fmp4;  // NOLINT(google-build-using-namespace): the shared box pieces
using core::ByteView;
using core::ByteWriter;
using core::Codec;
using core::Slice;
using core::Status;
using core::TrackType;

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

}  // namespace weir::protocol
