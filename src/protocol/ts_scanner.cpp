#include "protocol/ts_scanner.h"

#include <cstring>

#include "protocol/sei_probe.h"
#include "protocol/ts_packet.h"

namespace weir::protocol {

using core::Status;
namespace p = protocol;

Status TsScanner::feed(core::ByteView data, const Callback& cb) {
  size_t pos = 0;
  if (carry_len_) {
    size_t take = std::min(data.size(), p::kTsPacketSize - carry_len_);
    std::memcpy(carry_ + carry_len_, data.data(), take);
    carry_len_ += take;
    pos = take;
    if (carry_len_ < p::kTsPacketSize) return Status::ok();
    carry_len_ = 0;
    if (carry_[0] != p::kTsSyncByte) return Status::error("ts: lost sync");
    packet(core::ByteView(carry_, p::kTsPacketSize), cb);
  }
  while (data.size() - pos >= p::kTsPacketSize) {
    if (data[pos] != p::kTsSyncByte) return Status::error("ts: lost sync");
    packet(data.subspan(pos, p::kTsPacketSize), cb);
    pos += p::kTsPacketSize;
  }
  carry_len_ = data.size() - pos;
  std::memcpy(carry_, data.data() + pos, carry_len_);
  return Status::ok();
}

void TsScanner::end_segment(const Callback& cb) {
  if (video_.collecting) emit(video_, true, cb);
  if (audio_.collecting) emit(audio_, false, cb);
  carry_len_ = 0;
}

int64_t TsScanner::unwrap(Stream& s, int64_t raw) {
  if (!s.have_last) {
    s.have_last = true;
    s.last_raw = raw;
    s.unwrapped = raw;
    return raw;
  }
  int64_t d = raw - s.last_raw;
  if (d < -(p::kTsTimestampModulo / 2)) d += p::kTsTimestampModulo;
  else if (d > p::kTsTimestampModulo / 2) d -= p::kTsTimestampModulo;
  s.last_raw = raw;
  s.unwrapped += d;
  return s.unwrapped;
}

void TsScanner::emit(Stream& s, bool video, const Callback& cb) {
  s.collecting = false;
  core::ByteView v(s.buf, s.len);
  if (v.size() < 9 || p::pes_header_needed(v) > v.size()) return;
  auto h = p::parse_pes_header(v);
  if (!h || !h->has_pts) return;
  TsFrame f;
  f.video = video;
  f.dts_ms = unwrap(s, h->dts) / 90;
  if (video) {
    core::ByteView es = v.subspan(std::min(h->header_size, v.size()));
    f.keyframe = s.rai || annexb_has_keyframe_nal(es);
    f.probe_us = find_probe_in_annexb(es);
  }
  cb(f);
}

void TsScanner::packet(core::ByteView pkt, const Callback& cb) {
  ++packets_;
  auto info = p::parse_ts_packet(pkt);
  if (!info || info->transport_error) return;
  const auto& i = *info;
  if (i.pid == p::kTsPidPat || i.pid == pmt_pid_) {
    if (!i.payload_unit_start || i.payload.empty()) return;  // tables fit one packet in practice
    size_t ptr = i.payload[0];
    if (1 + ptr >= i.payload.size()) return;
    core::ByteView sec = i.payload.subspan(1 + ptr);
    size_t n = p::psi_section_size(sec);
    if (n == 0 || n > sec.size()) return;
    auto s = p::parse_psi_section(sec.subspan(0, n));
    if (!s) return;
    if (i.pid == p::kTsPidPat && s->table_id == p::kTsTablePat) {
      auto progs = p::parse_pat(*s);
      if (!progs) return;
      for (const auto& pr : *progs)
        if (pr.program_number != 0) {
          pmt_pid_ = pr.pid;
          break;
        }
    } else if (s->table_id == p::kTsTablePmt) {
      auto pmt = p::parse_pmt(*s);
      if (!pmt) return;
      uint16_t v = 0x1FFF, a = 0x1FFF;
      for (const auto& st : pmt->streams) {
        bool is_video = st.stream_type == p::kStreamTypeH264 || st.stream_type == p::kStreamTypeHevc;
        bool is_audio = st.stream_type == p::kStreamTypeAacAdts || st.stream_type == p::kStreamTypeAacLatm ||
                        st.stream_type == p::kStreamTypeMpeg1Audio || st.stream_type == p::kStreamTypeMpeg2Audio ||
                        st.stream_type == p::kStreamTypePrivatePes;
        if (is_video && v == 0x1FFF) v = st.pid;
        else if (is_audio && a == 0x1FFF) a = st.pid;
      }
      video_.pid = v;
      audio_.pid = a;
    }
    return;
  }
  Stream* s = i.pid == video_.pid ? &video_ : i.pid == audio_.pid ? &audio_ : nullptr;
  if (!s) return;
  bool video = s == &video_;
  if (i.payload_unit_start) {
    if (s->collecting) emit(*s, video, cb);
    s->collecting = true;
    s->rai = i.random_access;
    s->len = 0;
  }
  if (!s->collecting || i.payload.empty()) return;
  size_t cap = video ? kVideoScanBytes : 64;  // audio: the PES header is enough
  size_t take = std::min(i.payload.size(), cap - std::min(cap, s->len));
  std::memcpy(s->buf + s->len, i.payload.data(), take);
  s->len += take;
  if (s->len >= cap) emit(*s, video, cb);
}

}  // namespace weir::protocol
