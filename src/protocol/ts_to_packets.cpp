#include "protocol/ts_to_packets.h"

#include <algorithm>
#include <cstring>

#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"
#include "protocol/mpeg_audio.h"
#include "protocol/opus_head.h"

namespace weir::protocol {

using core::ByteView;
using core::Codec;
using core::Status;

namespace {

constexpr size_t kMaxSps = 32;
constexpr size_t kMaxPps = 64;
constexpr size_t kMaxVps = 16;
constexpr size_t kMaxAudioCarry = 8192;

int64_t to_ms(int64_t t90) {
  int64_t v = t90 + 45;
  return v >= 0 ? v / 90 : -((-v + 89) / 90);
}

// First unsigned exp-Golomb value after `skip_bytes` of the RBSP.
bool first_ue(const std::vector<uint8_t>& rbsp, size_t skip_bytes, uint32_t& out) {
  size_t bit = skip_bytes * 8, end = rbsp.size() * 8;
  auto get = [&](size_t b) { return (rbsp[b >> 3] >> (7 - (b & 7))) & 1; };
  int zeros = 0;
  while (bit < end && !get(bit)) {
    if (++zeros > 31) return false;
    ++bit;
  }
  if (bit >= end) return false;
  ++bit;
  if (bit + size_t(zeros) > end) return false;
  uint64_t rest = 0;
  for (int i = 0; i < zeros; ++i) rest = rest << 1 | get(bit++);
  out = uint32_t((uint64_t(1) << zeros) - 1 + rest);
  return true;
}

}  // namespace

void TsToPackets::set_video_codec(Codec codec) {
  video_codec_ = codec;
  vps_.clear();
  sps_.clear();
  pps_.clear();
  params_changed_ = false;
  video_config_.clear();
  video_started_ = false;
}

void TsToPackets::set_audio_codec(Codec codec, uint8_t opus_channels) {
  audio_codec_ = codec;
  opus_channels_ = opus_channels;
  audio_config_.clear();
  carry_.clear();
  have_run_ = false;
  audio_skipping_ = false;
}

void TsToPackets::drop_audio_carry() {
  if (!carry_.empty()) ++stats_.es_errors;
  carry_.clear();
}

bool TsToPackets::audio_next_time(int64_t& t90) const {
  if (!have_run_ || run_rate_ == 0) return false;
  t90 = run_base90_ + int64_t(run_samples_ * 90000 / run_rate_);
  return true;
}

int64_t TsToPackets::track_ms(int64_t t90, int64_t& last_ms) {
  int64_t ms = to_ms(t90);
  int64_t floor = std::max<int64_t>(last_ms, 0);
  if (ms < floor) {
    ms = floor;
    ++stats_.ts_clamped;
  }
  last_ms = ms;
  return ms;
}

bool TsToPackets::store_param(std::vector<ParamSet>& list, uint32_t id, ByteView nal, size_t max_count) {
  for (ParamSet& p : list) {
    if (p.id != id) continue;
    if (p.nal.size() == nal.size() && std::equal(nal.begin(), nal.end(), p.nal.begin())) return false;
    p.nal.assign(nal.begin(), nal.end());
    return true;
  }
  if (list.size() >= max_count) {
    ++stats_.es_errors;
    return false;
  }
  list.push_back({id, std::vector<uint8_t>(nal.begin(), nal.end())});
  std::sort(list.begin(), list.end(), [](const ParamSet& a, const ParamSet& b) { return a.id < b.id; });
  return true;
}

Status TsToPackets::emit_video_config(int64_t dts_ms, const TsPacketCallback& cb) {
  auto views = [](const std::vector<ParamSet>& l) {
    std::vector<ByteView> v;
    for (const ParamSet& p : l) v.emplace_back(p.nal.data(), p.nal.size());
    return v;
  };
  bool hevc = video_codec_ == Codec::kHEVC;
  if (sps_.empty() || pps_.empty() || (hevc && vps_.empty())) return Status::ok();
  auto rec = hevc ? build_hevc_decoder_config(views(vps_), views(sps_), views(pps_), 4)
                  : build_avc_decoder_config(views(sps_), views(pps_), 4);
  if (!rec) {
    ++stats_.es_errors;
    return Status::ok();
  }
  ByteView r = rec->view();
  if (r.size() == video_config_.size() && std::equal(r.begin(), r.end(), video_config_.begin())) {
    return Status::ok();
  }
  video_config_.assign(r.begin(), r.end());
  core::Slice body = hevc ? build_video_tag_enhanced(kFourccHvc1, kVideoFrameKey, kVideoPacketSequenceStart, 0, r)
                          : build_video_tag_avc(true, kAvcPacketSequenceHeader, 0, r);
  auto pkt = make_media_packet(kFlvTagVideo, std::max<int64_t>(dts_ms, 0), std::move(body));
  if (!pkt) return pkt.status();
  ++stats_.configs;
  return cb(pkt.value());
}

Status TsToPackets::video(ByteView annexb, int64_t pts90, int64_t dts90, const TsPacketCallback& cb) {
  bool hevc = video_codec_ == Codec::kHEVC;
  if (!hevc && video_codec_ != Codec::kH264) return Status::ok();
  std::vector<ByteView> nals = split_annexb(annexb);
  core::ByteWriter frame(annexb.size() + 16);
  bool key = false;
  for (ByteView nal : nals) {
    if (nal.size() < (hevc ? 2u : 1u)) continue;
    if (hevc) {
      uint8_t t = hevc_nal_type(nal[0]);
      if (t == 35 || t == 38) continue;  // AUD, filler data
      if (t == kHevcNalVps) {
        params_changed_ |= store_param(vps_, nal.size() > 2 ? uint32_t(nal[2] >> 4) : 0, nal, kMaxVps);
      } else if (t == kHevcNalSps) {
        auto s = parse_hevc_sps(nal);
        if (!s) ++stats_.es_errors;
        params_changed_ |= store_param(sps_, s ? s->sps_id : 0, nal, kMaxSps);
      } else if (t == kHevcNalPps) {
        uint32_t id = 0;
        if (!first_ue(nal_to_rbsp(nal), 2, id)) ++stats_.es_errors;
        params_changed_ |= store_param(pps_, id, nal, kMaxPps);
      } else if (t >= 16 && t <= 21) {
        key = true;
      }
    } else {
      uint8_t t = h264_nal_type(nal[0]);
      if (t == 9 || t == 12) continue;  // AUD, filler data
      if (t == 7) {
        auto s = parse_h264_sps(nal);
        if (!s) ++stats_.es_errors;
        params_changed_ |= store_param(sps_, s ? s->sps_id : 0, nal, kMaxSps);
      } else if (t == 8) {
        uint32_t id = 0;
        if (!first_ue(nal_to_rbsp(nal), 1, id)) ++stats_.es_errors;
        params_changed_ |= store_param(pps_, id, nal, kMaxPps);
      } else if (t == 5) {
        key = true;
      }
    }
    if (Status s = append_length_prefixed_nal(frame, nal, 4); !s) return s;
  }
  if (frame.size() == 0) return Status::ok();

  int64_t dts_ms = track_ms(dts90, video_last_ms_);
  int64_t pts_ms = std::max(to_ms(pts90), dts_ms);
  if (params_changed_) {
    params_changed_ = false;
    if (Status s = emit_video_config(dts_ms, cb); !s) return s;
  }
  if (!video_started_) {
    if (!key || video_config_.empty()) {
      ++stats_.waiting_keyframe;
      return Status::ok();
    }
    video_started_ = true;
  }
  int64_t cts = pts_ms - dts_ms;
  core::Slice body =
      hevc ? build_video_tag_enhanced(kFourccHvc1, key ? kVideoFrameKey : kVideoFrameInter,
                                      kVideoPacketCodedFrames, int32_t(std::min<int64_t>(cts, 0x7FFFFF)),
                                      frame.view())
           : build_video_tag_avc(key, kAvcPacketNalu, int32_t(std::min<int64_t>(cts, 0x7FFFFF)), frame.view());
  auto pkt = make_media_packet(kFlvTagVideo, dts_ms, std::move(body));
  if (!pkt) return pkt.status();
  ++stats_.video_frames;
  return cb(pkt.value());
}

Status TsToPackets::emit_audio(core::Slice body, int64_t t90, bool config, const TsPacketCallback& cb) {
  int64_t ms;
  if (config) {
    ms = std::max<int64_t>({to_ms(t90), audio_last_ms_, 0});
  } else {
    // Audio from before the timeline's zero (a stream joined mid-PES, audio
    // muxed ahead of the first video) is dropped rather than stacked at 0.
    if (to_ms(t90) < 0) {
      ++stats_.before_start;
      return Status::ok();
    }
    ms = track_ms(t90, audio_last_ms_);
  }
  auto pkt = make_media_packet(kFlvTagAudio, ms, std::move(body));
  if (!pkt) return pkt.status();
  if (pkt->is_config()) {
    ++stats_.configs;
  } else {
    ++stats_.audio_frames;
  }
  return cb(pkt.value());
}

Status TsToPackets::audio(ByteView data, bool has_pts, int64_t pts90, const TsPacketCallback& cb) {
  if (!has_pts && !have_run_ && carry_.empty()) {
    ++stats_.es_errors;
    return Status::ok();
  }
  switch (audio_codec_) {
    case Codec::kAAC:
    case Codec::kMP3: return audio_framed(data, has_pts, pts90, cb);
    case Codec::kOpus: return audio_opus(data, has_pts, pts90, cb);
    default: return Status::ok();
  }
}

Status TsToPackets::audio_framed(ByteView data, bool has_pts, int64_t pts90, const TsPacketCallback& cb) {
  bool aac = audio_codec_ == Codec::kAAC;
  ByteView buf = data;
  size_t carried = carry_.size();
  if (carried) {
    work_.assign(carry_.begin(), carry_.end());
    work_.insert(work_.end(), data.begin(), data.end());
    buf = ByteView(work_.data(), work_.size());
    carry_.clear();
  }
  bool new_run = has_pts;
  size_t pos = 0;
  const size_t min_header = aac ? 9 : 4;
  while (buf.size() - pos >= (aac ? 7u : 4u)) {
    ByteView at = buf.subspan(pos);
    size_t len = 0, header = 0;
    uint32_t rate = 0, samples = 0;
    AdtsHeader adts;
    MpegAudioFrame mpa;
    bool ok;
    if (aac) {
      // Cheap syncword test first: garbage is skipped byte by byte.
      bool sync = at[0] == 0xFF && (at[1] & 0xF6) == 0xF0;
      if (sync && at.size() < min_header && !(at[1] & 0x01)) {
        break;  // a CRC-protected header cut short: wait for the rest
      }
      ok = false;
      if (sync) {
        auto h = parse_adts_header(at);
        if (h.is_ok()) {
          ok = true;
          adts = h.value();
          len = adts.frame_length;
          header = adts.header_size;
          rate = adts.config.sampling_frequency;
          samples = 1024 * uint32_t(adts.raw_data_blocks);
        }
      }
    } else {
      ok = parse_mpeg_audio_header(at, mpa);
      if (ok) {
        len = mpa.length;
        header = 0;
        rate = mpa.sample_rate;
        samples = mpa.samples;
      }
    }
    if (!ok) {
      ++stats_.audio_bytes_skipped;
      if (!audio_skipping_) {
        audio_skipping_ = true;
        ++stats_.es_errors;
      }
      ++pos;
      continue;
    }
    if (len > at.size()) break;  // the rest comes in the next PES
    if (audio_skipping_ && at.size() >= len + 4) {
      // After skipping bytes, a syncword may be a false one inside frame
      // data: accept it only if another frame header follows it.
      ByteView next = at.subspan(len);
      MpegAudioFrame m2;
      bool next_ok = aac ? (next[0] == 0xFF && (next[1] & 0xF6) == 0xF0) : parse_mpeg_audio_header(next, m2);
      if (!next_ok) {
        ++stats_.audio_bytes_skipped;
        ++pos;
        continue;
      }
    }
    audio_skipping_ = false;
    // Time: the PES PTS applies to the first frame that starts in this PES.
    if (new_run && pos >= carried) {
      new_run = false;
      have_run_ = true;
      run_base90_ = pts90;
      run_samples_ = 0;
      run_rate_ = rate;
    }
    if (!have_run_) {  // a frame with no time to give it
      ++stats_.es_errors;
      pos += len;
      continue;
    }
    if (rate != run_rate_) {
      int64_t now = 0;
      audio_next_time(now);
      run_base90_ = now;
      run_samples_ = 0;
      run_rate_ = rate;
    }
    int64_t t90 = 0;
    audio_next_time(t90);
    ByteView raw = at.subspan(header, len - header);
    if (aac) {
      if (adts.raw_data_blocks != 1) {
        ++stats_.es_errors;  // several raw blocks per ADTS frame: not splittable without CRC positions
      } else {
        // The ASC only changes with these header fields.
        uint32_t key = uint32_t(adts.config.object_type) << 16 |
                       uint32_t(adts.config.sampling_frequency_index) << 8 | adts.config.channel_configuration;
        bool stereo = adts.config.channel_configuration != 1;
        bool good = true;
        if (audio_config_.empty() || key != adts_key_) {
          auto asc = build_aac_audio_specific_config(adts.config);
          if (!asc) {
            ++stats_.es_errors;
            good = false;
          } else {
            adts_key_ = key;
            ByteView a = asc->view();
            audio_config_.assign(a.begin(), a.end());
            if (Status s = emit_audio(build_audio_tag_aac(kAacPacketSequenceHeader, a, stereo), t90, true, cb); !s) {
              return s;
            }
          }
        }
        if (good) {
          if (Status s = emit_audio(build_audio_tag_aac(kAacPacketRaw, raw, stereo), t90, false, cb); !s) return s;
        }
      }
    } else {
      core::ByteWriter w(raw.size() + 1);
      w.u8(flv_mp3_header(mpa));
      w.bytes(raw);
      if (Status s = emit_audio(w.finish(), t90, false, cb); !s) return s;
    }
    run_samples_ += samples;
    pos += len;
  }
  size_t left = buf.size() - pos;
  if (left > kMaxAudioCarry) {
    stats_.audio_bytes_skipped += left;
    ++stats_.es_errors;
  } else if (left) {
    // A PES PTS that was not used (no frame started here) still marks the
    // time of the frame that will start in the carried bytes.
    if (new_run && pos >= carried) {
      have_run_ = true;
      run_base90_ = pts90;
      run_samples_ = 0;
    }
    std::vector<uint8_t> rest(buf.begin() + ptrdiff_t(pos), buf.end());
    carry_ = std::move(rest);
  }
  return Status::ok();
}

Status TsToPackets::audio_opus(ByteView data, bool has_pts, int64_t pts90, const TsPacketCallback& cb) {
  if (has_pts) {
    have_run_ = true;
    run_base90_ = pts90;
    run_samples_ = 0;
    run_rate_ = 48000;
  }
  if (!have_run_) return Status::ok();
  size_t pos = 0;
  while (pos < data.size()) {
    // opus_control_header: 11 bits 0x3FF, start_trim_flag, end_trim_flag,
    // control_extension_flag, 2 reserved bits; au_size; optional fields.
    if (data.size() - pos < 3 || data[pos] != 0x7F || (data[pos + 1] & 0xE0) != 0xE0) {
      ++stats_.es_errors;
      return Status::ok();
    }
    uint8_t flags = data[pos + 1];
    pos += 2;
    size_t au_size = 0;
    while (true) {
      if (pos >= data.size()) {
        ++stats_.es_errors;
        return Status::ok();
      }
      uint8_t b = data[pos++];
      au_size += b;
      if (b != 0xFF) break;
    }
    size_t extra = ((flags & 0x10) ? 2 : 0) + ((flags & 0x08) ? 2 : 0);
    if (data.size() - pos < extra) {
      ++stats_.es_errors;
      return Status::ok();
    }
    pos += extra;
    if (flags & 0x04) {
      if (pos >= data.size() || data.size() - pos - 1 < data[pos]) {
        ++stats_.es_errors;
        return Status::ok();
      }
      pos += 1 + size_t(data[pos]);
    }
    if (au_size > data.size() - pos) {
      ++stats_.es_errors;
      return Status::ok();
    }
    ByteView packet = data.subspan(pos, au_size);
    pos += au_size;
    uint32_t samples = opus_packet_samples(packet);
    if (samples == 0) {
      ++stats_.es_errors;
      continue;
    }
    int64_t t90 = 0;
    audio_next_time(t90);
    if (audio_config_.empty()) {
      OpusHead head;
      head.channels = opus_channels_;
      auto built = build_opus_head(head);
      if (!built) return built.status();
      ByteView h = built->view();
      audio_config_.assign(h.begin(), h.end());
      if (Status s = emit_audio(build_audio_tag_enhanced(kFourccOpus, kAudioPacketSequenceStart, h), t90, true, cb); !s) {
        return s;
      }
    }
    if (Status s = emit_audio(build_audio_tag_enhanced(kFourccOpus, kAudioPacketCodedFrames, packet), t90, false, cb); !s) {
      return s;
    }
    run_samples_ += samples;
  }
  return Status::ok();
}

}  // namespace weir::protocol
