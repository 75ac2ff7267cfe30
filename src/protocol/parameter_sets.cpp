#include "protocol/parameter_sets.h"

#include <algorithm>

#include "protocol/codec_config.h"

namespace weir::protocol {

using core::ByteView;
using core::Slice;
using core::Status;

namespace {

bool same_bytes(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

void add_unique(std::vector<ByteView>& list, ByteView nal) {
  for (ByteView n : list) {
    if (same_bytes(n, nal)) return;
  }
  list.push_back(nal);
}

std::vector<ByteView> views(const std::vector<Slice>& slices) {
  std::vector<ByteView> out;
  for (const Slice& s : slices) out.push_back(s.view());
  return out;
}

// What Annex B cannot carry (H.264 7.4.1 / B.2, H.265 7.4.2 / B.2): a NAL
// unit with 00 00 00, 00 00 01 or 00 00 02 inside (emulation prevention
// missing) or ending in a zero byte (it would read as part of the next start
// code). Real encoders never write either.
bool annexb_safe(ByteView nal) {
  if (nal.empty() || nal.back() == 0) return false;
  for (size_t i = 2; i < nal.size(); ++i) {
    if (nal[i - 2] == 0 && nal[i - 1] == 0 && nal[i] <= 2) return false;
  }
  return true;
}

core::Result<Slice> join_annexb(const std::vector<std::vector<ByteView>>& groups) {
  core::ByteWriter w(256);
  for (const auto& g : groups) {
    for (ByteView nal : g) {
      if (!annexb_safe(nal)) {
        return Status::errorf("a parameter set of {} bytes lacks emulation prevention or ends in a zero byte, "
                              "so Annex B cannot carry it", nal.size());
      }
      w.u32be(1);
      w.bytes(nal);
    }
  }
  return w.finish();
}

}  // namespace

bool has_start_code_prefix(ByteView d) {
  return (d.size() >= 3 && d[0] == 0 && d[1] == 0 && d[2] == 1) ||
         (d.size() >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1);
}

core::Result<Slice> avc_config_from_nals(const std::vector<ByteView>& nals, uint8_t nal_length_size) {
  std::vector<ByteView> sps, pps;
  for (ByteView n : nals) {
    if (n.empty()) continue;
    uint8_t t = h264_nal_type(n[0]);
    if (t == 7) add_unique(sps, n);
    if (t == 8) add_unique(pps, n);
  }
  if (sps.empty() || pps.empty()) {
    return Status::errorf("H.264 parameter sets: {} SPS and {} PPS among {} NAL units", sps.size(), pps.size(),
                          nals.size());
  }
  return build_avc_decoder_config(sps, pps, nal_length_size);
}

core::Result<Slice> hevc_config_from_nals(const std::vector<ByteView>& nals, uint8_t nal_length_size) {
  std::vector<ByteView> vps, sps, pps;
  for (ByteView n : nals) {
    if (n.size() < 2) continue;
    uint8_t t = hevc_nal_type(n[0]);
    if (t == kHevcNalVps) add_unique(vps, n);
    if (t == kHevcNalSps) add_unique(sps, n);
    if (t == kHevcNalPps) add_unique(pps, n);
  }
  if (vps.empty() || sps.empty() || pps.empty()) {
    return Status::errorf("HEVC parameter sets: {} VPS, {} SPS and {} PPS among {} NAL units", vps.size(),
                          sps.size(), pps.size(), nals.size());
  }
  return build_hevc_decoder_config(vps, sps, pps, nal_length_size);
}

core::Result<Slice> avc_config_from_extradata(ByteView extradata) {
  if (has_start_code_prefix(extradata)) return avc_config_from_nals(split_annexb(extradata));
  auto c = parse_avc_decoder_config(extradata);
  if (!c) return c.status();
  std::vector<ByteView> nals = views(c->sps);
  for (ByteView p : views(c->pps)) nals.push_back(p);
  return avc_config_from_nals(nals, c->nal_length_size);
}

core::Result<Slice> hevc_config_from_extradata(ByteView extradata) {
  if (has_start_code_prefix(extradata)) return hevc_config_from_nals(split_annexb(extradata));
  auto c = parse_hevc_decoder_config(extradata);
  if (!c) return c.status();
  std::vector<ByteView> nals;
  for (uint8_t t : {kHevcNalVps, kHevcNalSps, kHevcNalPps}) {
    for (ByteView n : views(c->nalus_of_type(t))) nals.push_back(n);
  }
  return hevc_config_from_nals(nals, c->nal_length_size);
}

core::Result<Slice> avc_config_to_annexb(ByteView avcc) {
  auto c = parse_avc_decoder_config(avcc);
  if (!c) return c.status();
  if (c->sps.empty() || c->pps.empty()) return Status::error("avcC: no SPS or no PPS");
  return join_annexb({views(c->sps), views(c->pps)});
}

core::Result<Slice> hevc_config_to_annexb(ByteView hvcc) {
  auto c = parse_hevc_decoder_config(hvcc);
  if (!c) return c.status();
  std::vector<std::vector<ByteView>> groups;
  for (uint8_t t : {kHevcNalVps, kHevcNalSps, kHevcNalPps}) {
    groups.push_back(views(c->nalus_of_type(t)));
    if (groups.back().empty()) return Status::errorf("hvcC: no NAL unit of type {}", t);
  }
  return join_annexb(groups);
}

}  // namespace weir::protocol
