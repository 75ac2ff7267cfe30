#include "protocol/ts_demuxer.h"

#include <algorithm>
#include <cstdlib>

#include "protocol/flv_tag.h"

namespace weir::protocol {

using core::ByteView;
using core::Codec;
using core::Status;

namespace {

// Signed difference a - b of two 33-bit timestamps, in [-2^32, 2^32).
int64_t wrap_diff(int64_t a, int64_t b) {
  int64_t d = (a - b) & (kTsTimestampModulo - 1);
  return d >= kTsTimestampModulo / 2 ? d - kTsTimestampModulo : d;
}

constexpr int64_t kForcedDiscontinuityStep = kTsClock;  // 1 s after a discontinuity_indicator
constexpr int64_t kDefaultFrameStep = 3600;             // 40 ms, when no step is known yet
constexpr size_t kMaxSectionSize = 3 + kTsMaxSectionLength;

}  // namespace

TsDemuxer::TsDemuxer(const TsDemuxOptions& options) : options_(options) {
  pat_.pid = kTsPidPat;
}

const TsDemuxStats& TsDemuxer::stats() const {
  stats_.es = conv_.stats();
  return stats_;
}

uint64_t TsDemuxer::cc_errors(uint16_t pid) const {
  if (pid == kTsPidPat) return pat_.cc_errors;
  if (pat_known_ && pid == pmt_.pid) return pmt_.cc_errors;
  if (pid == video_.pid) return video_.cc_errors;
  if (pid == audio_.pid) return audio_.cc_errors;
  return 0;
}

Status TsDemuxer::feed(ByteView data, const TsPacketCallback& cb) {
  stats_.bytes += data.size();
  Status st;
  if (buf_.empty()) {
    size_t n = process(data, cb, st);
    buf_.assign(data.begin() + ptrdiff_t(n), data.end());
  } else {
    buf_.insert(buf_.end(), data.begin(), data.end());
    size_t n = process(ByteView(buf_.data(), buf_.size()), cb, st);
    buf_.erase(buf_.begin(), buf_.begin() + ptrdiff_t(n));
  }
  return st;
}

size_t TsDemuxer::process(ByteView v, const TsPacketCallback& cb, Status& st) {
  size_t pos = 0;
  while (true) {
    if (synced_) {
      if (v.size() - pos < kTsPacketSize) break;
      if (v[pos] != kTsSyncByte) {
        synced_ = false;
        lost_sync_ = true;
        continue;
      }
      // If the next packet's sync byte is already here but missing, either
      // garbage follows this packet (keep it) or bytes were lost inside it and
      // the next packet starts within it: then a sync pair starts inside
      // this packet, which is dropped.
      if (v.size() - pos > kTsPacketSize && v[pos + kTsPacketSize] != kTsSyncByte) {
        size_t q = pos + 1;
        for (; q < pos + kTsPacketSize && q + kTsPacketSize < v.size(); ++q) {
          if (v[q] == kTsSyncByte && v[q + kTsPacketSize] == kTsSyncByte) break;
        }
        if (q < pos + kTsPacketSize && q + kTsPacketSize < v.size()) {
          ++stats_.resyncs;
          stats_.garbage_bytes += q - pos;
          pos = q;
          continue;
        }
      }
      st = handle_packet(v.subspan(pos, kTsPacketSize), cb);
      pos += kTsPacketSize;
      if (!st) return pos;
      continue;
    }
    // Look for two sync bytes one packet apart.
    size_t p = pos;
    bool found = false;
    for (; p + kTsPacketSize < v.size(); ++p) {
      if (v[p] == kTsSyncByte && v[p + kTsPacketSize] == kTsSyncByte) {
        found = true;
        break;
      }
    }
    if (found) {
      if (p > pos || lost_sync_ || unsynced_ > 0) ++stats_.resyncs;
      stats_.garbage_bytes += p - pos;
      pos = p;
      synced_ = true;
      lost_sync_ = false;
      unsynced_ = 0;
      continue;
    }
    // Keep the last packet's worth of bytes: a sync may start there.
    size_t keep = std::max(pos, v.size() > kTsPacketSize ? v.size() - kTsPacketSize : 0);
    stats_.garbage_bytes += keep - pos;
    unsynced_ += keep - pos;
    pos = keep;
    if (unsynced_ > options_.max_unsynced_bytes) {
      st = Status::errorf("ts: no sync in {} bytes", unsynced_);
    }
    break;
  }
  return pos;
}

Status TsDemuxer::handle_packet(ByteView p, const TsPacketCallback& cb) {
  ++stats_.packets;
  auto r = parse_ts_packet(p);
  if (!r) {
    ++stats_.malformed_packets;
    return Status::ok();
  }
  const TsPacketInfo& info = r.value();
  if (info.transport_error) {
    ++stats_.transport_errors;
    return Status::ok();
  }
  if (info.pid == kTsPidNull) return Status::ok();
  if (info.discontinuity && info.has_pcr && pmt_known_ && info.pid == pcr_pid_) {
    video_.disc_armed = true;
    audio_.disc_armed = true;
  }
  if (info.scrambling != 0 && info.has_payload) {
    ++stats_.scrambled;
    return Status::ok();
  }
  if (info.pid == kTsPidPat) {
    handle_section_packet(pat_, info);
    return Status::ok();
  }
  if (pat_known_ && info.pid == pmt_.pid) {
    handle_section_packet(pmt_, info);
    return Status::ok();
  }
  if (!pmt_known_) {
    // PIDs 0x01-0x1F are CAT, NIT, SDT, EIT and friends: not media.
    if (info.pid >= 0x20) ++stats_.missing_tables;
    return Status::ok();
  }
  if (info.pid == video_.pid) return handle_es_packet(video_, info, cb);
  if (info.pid == audio_.pid) return handle_es_packet(audio_, info, cb);
  return Status::ok();
}

void TsDemuxer::handle_section_packet(Section& s, const TsPacketInfo& info) {
  if (!info.has_payload) return;
  uint8_t cc = info.continuity_counter;
  if (s.last_cc >= 0) {
    if (cc == s.last_cc && !info.discontinuity) {
      ++stats_.duplicates;
      return;
    }
    if (cc != ((s.last_cc + 1) & 0x0F) && !info.discontinuity) {
      ++stats_.cc_errors;
      ++s.cc_errors;
      s.collecting = false;
      s.buf.clear();
    }
  }
  s.last_cc = cc;
  ByteView pl = info.payload;
  if (info.payload_unit_start) {
    if (pl.empty()) return;
    size_t ptr = pl[0];
    if (1 + ptr > pl.size()) {
      ++stats_.section_errors;
      s.collecting = false;
      s.buf.clear();
      return;
    }
    // Bytes before the pointer end the section in progress.
    if (s.collecting) {
      s.buf.insert(s.buf.end(), pl.begin() + 1, pl.begin() + 1 + ptrdiff_t(ptr));
      size_t need = psi_section_size(ByteView(s.buf.data(), s.buf.size()));
      if (need && s.buf.size() >= need) {
        std::vector<uint8_t> sec(s.buf.begin(), s.buf.begin() + ptrdiff_t(need));
        handle_section(s, ByteView(sec.data(), sec.size()));
      } else {
        ++stats_.section_errors;
      }
    }
    s.collecting = false;
    s.buf.clear();
    ByteView rest = pl.subspan(1 + ptr);
    while (!rest.empty() && rest[0] != 0xFF) {
      size_t need = psi_section_size(rest);
      if (need == 0 || need > rest.size()) {
        if (need > kMaxSectionSize) {
          ++stats_.section_errors;
          return;
        }
        s.buf.assign(rest.begin(), rest.end());
        s.collecting = true;
        return;
      }
      handle_section(s, rest.subspan(0, need));
      rest = rest.subspan(need);
    }
    return;
  }
  if (!s.collecting) return;
  s.buf.insert(s.buf.end(), pl.begin(), pl.end());
  size_t need = psi_section_size(ByteView(s.buf.data(), s.buf.size()));
  if (need > kMaxSectionSize) {
    ++stats_.section_errors;
    s.collecting = false;
    s.buf.clear();
    return;
  }
  if (need && s.buf.size() >= need) {
    std::vector<uint8_t> sec(s.buf.begin(), s.buf.begin() + ptrdiff_t(need));
    s.collecting = false;
    s.buf.clear();
    handle_section(s, ByteView(sec.data(), sec.size()));
  }
}

void TsDemuxer::handle_section(Section& s, ByteView section) {
  auto sec = parse_psi_section(section);
  if (!sec) {
    ++stats_.section_errors;
    return;
  }
  if (!sec->current_next) return;
  if (&s == &pat_ && sec->table_id == kTsTablePat) on_pat(sec.value());
  if (&s == &pmt_ && sec->table_id == kTsTablePmt) on_pmt(sec.value());
}

void TsDemuxer::on_pat(const PsiSection& sec) {
  auto progs = parse_pat(sec);
  if (!progs) {
    ++stats_.section_errors;
    return;
  }
  // Keep the current program while this PAT still lists it.
  if (pat_known_) {
    for (const PatProgram& p : progs.value()) {
      if (p.program_number == program_number_ && p.pid == pmt_.pid) return;
    }
  }
  for (const PatProgram& p : progs.value()) {
    if (p.program_number == 0) continue;
    if (pat_known_ && sec.section_number != 0) return;  // a later section of a multi-section PAT
    program_number_ = p.program_number;
    pmt_ = Section();
    pmt_.pid = p.pid;
    pat_known_ = true;
    pmt_known_ = false;
    return;
  }
}

void TsDemuxer::on_pmt(const PsiSection& sec) {
  if (sec.table_id_extension != program_number_) return;
  auto pmt = parse_pmt(sec);
  if (!pmt) {
    ++stats_.section_errors;
    return;
  }
  const PmtStream* v = nullptr;
  const PmtStream* a = nullptr;
  uint8_t opus_channels = 2;
  for (const PmtStream& s : pmt->streams) {
    if (!v && (s.stream_type == kStreamTypeH264 || s.stream_type == kStreamTypeHevc)) v = &s;
    if (a) continue;
    if (s.stream_type == kStreamTypeAacAdts || s.stream_type == kStreamTypeMpeg1Audio ||
        s.stream_type == kStreamTypeMpeg2Audio) {
      a = &s;
    } else if (s.stream_type == kStreamTypePrivatePes &&
               (s.registration == make_fourcc('O', 'p', 'u', 's') ||
                pmt->registration == make_fourcc('O', 'p', 'u', 's'))) {
      // DVB extension descriptor, tag extension 0x80: channel_config_code.
      uint8_t channels = 2;
      if (auto ext = find_descriptor(s.descriptors, kTsDescriptorExtension); ext && ext->size() >= 2 &&
                                                                            (*ext)[0] == 0x80) {
        uint8_t code = (*ext)[1];
        channels = code == 0 ? 2 : code;
      }
      if (channels <= 2) {
        a = &s;
        opus_channels = channels;
      }
    }
  }
  pcr_pid_ = pmt->pcr_pid;
  pmt_known_ = true;
  if (v) {
    if (v->pid != video_.pid || v->stream_type != video_.stream_type) {
      reset_es(video_, v->pid, v->stream_type, true);
      conv_.set_video_codec(v->stream_type == kStreamTypeHevc ? Codec::kHEVC : Codec::kH264);
    }
  } else if (video_.pid != kTsPidNull) {
    reset_es(video_, kTsPidNull, 0, true);
    conv_.set_video_codec(Codec::kUnknown);
  }
  if (a) {
    Codec c = a->stream_type == kStreamTypeAacAdts ? Codec::kAAC
              : a->stream_type == kStreamTypePrivatePes ? Codec::kOpus
                                                         : Codec::kMP3;
    if (a->pid != audio_.pid || a->stream_type != audio_.stream_type ||
        (c == Codec::kOpus && opus_channels != conv_.opus_channels())) {
      reset_es(audio_, a->pid, a->stream_type, false);
      conv_.set_audio_codec(c, opus_channels);
    }
  } else if (audio_.pid != kTsPidNull) {
    reset_es(audio_, kTsPidNull, 0, false);
    conv_.set_audio_codec(Codec::kUnknown);
  }
}

void TsDemuxer::reset_es(Es& es, uint16_t pid, uint8_t stream_type, bool video) {
  if (es.in_pes) ++stats_.pes_dropped;
  es = Es();
  es.pid = pid;
  es.stream_type = stream_type;
  es.video = video;
}

void TsDemuxer::drop_pes(Es& es) {
  ++stats_.pes_dropped;
  es.in_pes = false;
  es.header_done = false;
  es.pes.clear();
  if (es.pes.capacity() > (1u << 20)) es.pes.shrink_to_fit();
  if (!es.video) conv_.drop_audio_carry();
}

Status TsDemuxer::handle_es_packet(Es& es, const TsPacketInfo& info, const TsPacketCallback& cb) {
  if (!info.has_payload) return Status::ok();
  uint8_t cc = info.continuity_counter;
  if (es.last_cc >= 0 && !info.discontinuity) {
    if (cc == es.last_cc) {
      ++stats_.duplicates;
      return Status::ok();
    }
    if (cc != ((es.last_cc + 1) & 0x0F)) {
      ++stats_.cc_errors;
      ++es.cc_errors;
      if (es.in_pes) drop_pes(es);
    }
  }
  es.last_cc = cc;
  if (info.payload_unit_start) {
    if (es.in_pes) {
      if (Status s = finish_pes(es, cb); !s) return s;
    }
    es.pes.clear();
    es.in_pes = true;
    es.header_done = false;
    es.expected = 0;
    es.pes_disc = es.disc_armed;
    es.disc_armed = false;
  } else if (!es.in_pes) {
    return Status::ok();
  }
  if (es.pes.size() + info.payload.size() > options_.max_pes_size) {
    ++stats_.pes_oversize;
    drop_pes(es);
    return Status::ok();
  }
  es.pes.insert(es.pes.end(), info.payload.begin(), info.payload.end());
  es.ends_stuffed = info.stuffed;
  if (!es.header_done) {
    ByteView have(es.pes.data(), es.pes.size());
    if (have.size() < pes_header_needed(have)) return Status::ok();
    auto h = parse_pes_header(have);
    if (!h) {
      drop_pes(es);
      return Status::ok();
    }
    es.header = h.value();
    es.header_done = true;
    es.expected = es.header.packet_length ? 6 + size_t(es.header.packet_length) : 0;
  }
  if (es.expected && es.pes.size() >= es.expected) return finish_pes(es, cb);
  return Status::ok();
}

int64_t TsDemuxer::map_time(Es& es, int64_t raw, bool after_indicator) {
  Clock& c = es.clock;
  int64_t u;
  if (c.have) {
    u = c.last_unwrapped + wrap_diff(raw, c.last_raw);
  } else if (have_ref_) {
    u = ref_unwrapped_ + wrap_diff(raw, ref_raw_);
    c.offset = 0;
    // A stream that starts after a rebase joins the rebased timeline.
    if (rebase_epoch_) {
      c.offset = rebase_out_ + wrap_diff(raw, rebase_raw_) - u;
      c.rebase_epoch = rebase_epoch_;
    }
  } else {
    u = raw;
  }
  int64_t out = u + c.offset;
  if (c.have) {
    int64_t step = u - c.last_unwrapped;
    bool jump = after_indicator ? (step < 0 || step > kForcedDiscontinuityStep)
                               : (step > options_.discontinuity_threshold ||
                                  step < -options_.discontinuity_threshold);
    if (jump) {
      if (rebase_epoch_ && rebase_epoch_ != c.rebase_epoch &&
          std::abs(wrap_diff(raw, rebase_raw_)) <= options_.discontinuity_threshold) {
        // Another stream already rebased for this jump: follow it.
        out = rebase_out_ + wrap_diff(raw, rebase_raw_);
      } else {
        int64_t d = c.last_delta > 0 && c.last_delta <= kTsClock ? c.last_delta : kDefaultFrameStep;
        out = c.last_out + d;
        ++stats_.discontinuities;
        ++rebase_epoch_;
        rebase_raw_ = raw;
        rebase_out_ = out;
      }
      c.offset = out - u;
      c.rebase_epoch = rebase_epoch_;
    } else if (step > 0) {
      c.last_delta = step;
    }
  }
  c.have = true;
  c.last_raw = raw;
  c.last_unwrapped = u;
  c.last_out = out;
  have_ref_ = true;
  ref_raw_ = raw;
  ref_unwrapped_ = u;
  if (!have_base_) {
    have_base_ = true;
    base_ = out;
  }
  return out;
}

Status TsDemuxer::finish_pes(Es& es, const TsPacketCallback& cb) {
  es.in_pes = false;
  if (!es.header_done) {  // PES cut before its header was complete
    ++stats_.pes_dropped;
    return Status::ok();
  }
  size_t end = es.expected ? std::min(es.expected, es.pes.size()) : es.pes.size();
  if (es.expected && es.pes.size() < es.expected) {  // bounded PES cut short
    ++stats_.pes_dropped;
    if (!es.video) conv_.drop_audio_carry();
    return Status::ok();
  }
  if (es.header.header_size > end) {
    ++stats_.pes_dropped;
    return Status::ok();
  }
  ByteView payload(es.pes.data() + es.header.header_size, end - es.header.header_size);
  ++stats_.pes;
  const PesHeader& h = es.header;
  if (es.video) {
    int64_t dts, pts;
    if (h.has_pts) {
      dts = map_time(es, h.dts, es.pes_disc);
      pts = dts + wrap_diff(h.pts, h.dts);
    } else {
      ++stats_.pts_missing;
      if (!es.clock.have) return Status::ok();
      int64_t d = es.clock.last_delta > 0 ? es.clock.last_delta : kDefaultFrameStep;
      es.clock.last_out += d;
      es.clock.last_unwrapped += d;
      es.clock.last_raw = (es.clock.last_raw + d) & (kTsTimestampModulo - 1);
      dts = pts = es.clock.last_out;
    }
    return conv_.video(payload, pts - base_, dts - base_, cb);
  }
  if (!h.has_pts) {
    ++stats_.pts_missing;
    return conv_.audio(payload, false, 0, cb);
  }
  int64_t pts = map_time(es, h.pts, es.pes_disc);
  return conv_.audio(payload, true, pts - base_, cb);
}

Status TsDemuxer::flush(const TsPacketCallback& cb) {
  for (Es* es : {&video_, &audio_}) {
    if (!es->in_pes) continue;
    if (es->header_done && es->expected == 0 && !es->ends_stuffed) {
      drop_pes(*es);
      continue;
    }
    if (Status s = finish_pes(*es, cb); !s) return s;
  }
  return Status::ok();
}

}  // namespace weir::protocol
