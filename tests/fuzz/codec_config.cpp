// Fuzz target: decoder configuration records (avcC, hvcC, av1C, AAC ASC),
// ADTS headers, H.264/HEVC SPS parsing and NAL framing. Checks round-trip
// invariants: records rebuilt from parsed parameter sets parse back with the
// same NAL units, and Annex-B -> length-prefixed -> Annex-B keeps the NAL units.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/codec_config.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {

std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

bool same(const std::vector<ByteView>& a, const std::vector<ByteView>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (vec(a[i]) != vec(b[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);

  if (auto c = parse_avc_decoder_config(in); c.is_ok() && !c->sps.empty() && !c->pps.empty()) {
    std::vector<ByteView> sps, pps;
    for (auto& s : c->sps) sps.push_back(s.view());
    for (auto& p : c->pps) pps.push_back(p.view());
    if (auto b = build_avc_decoder_config(sps, pps); b.is_ok()) {
      auto back = parse_avc_decoder_config(b->view());
      if (!back.is_ok() || back->sps.size() != sps.size() || back->pps.size() != pps.size()) abort();
      if (vec(back->sps[0].view()) != vec(sps[0])) abort();
    }
  }
  if (auto c = parse_hevc_decoder_config(in); c.is_ok()) {
    std::vector<ByteView> v, s, p;
    for (auto& n : c->nalus_of_type(kHevcNalVps)) v.push_back(n.view());
    for (auto& n : c->nalus_of_type(kHevcNalSps)) s.push_back(n.view());
    for (auto& n : c->nalus_of_type(kHevcNalPps)) p.push_back(n.view());
    if (auto b = build_hevc_decoder_config(v, s, p); b.is_ok()) {
      auto back = parse_hevc_decoder_config(b->view());
      if (!back.is_ok() || back->nalus_of_type(kHevcNalSps).size() != s.size()) abort();
    }
  }
  (void)parse_av1_codec_config(in);
  if (auto a = parse_aac_audio_specific_config(in); a.is_ok()) {
    if (auto b = build_aac_audio_specific_config(a.value()); b.is_ok()) {
      auto back = parse_aac_audio_specific_config(b->view());
      if (!back.is_ok() || back->object_type != a->object_type ||
          back->sampling_frequency != a->sampling_frequency ||
          back->channel_configuration != a->channel_configuration) {
        abort();
      }
    }
  }
  if (auto h = parse_adts_header(in); h.is_ok()) {
    if (auto b = build_adts_header(h->config, h->frame_length - h->header_size); b.is_ok()) {
      auto back = parse_adts_header(ByteView(b->data(), b->size()));
      if (!back.is_ok() || back->config.channel_configuration != h->config.channel_configuration) abort();
    }
  }
  (void)parse_h264_sps(in);
  (void)parse_hevc_sps(in);

  auto nals = split_annexb(in);
  for (ByteView n : nals) {
    if (n.empty()) abort();
    (void)parse_h264_sps(n);
    (void)parse_hevc_sps(n);
  }
  core::ByteWriter lp;
  if (annexb_to_length_prefixed(in, lp, 4)) {
    core::ByteWriter ab;
    if (!length_prefixed_to_annexb(lp.view(), 4, ab)) abort();
    if (!same(split_annexb(ab.view()), nals)) abort();
  }
  for (int n = 1; n <= 4; ++n) {
    if (auto parts = split_length_prefixed(in, n); parts.is_ok()) {
      for (ByteView p : parts.value()) {
        if (p.data() < data || p.data() + p.size() > data + size) abort();
      }
    }
  }
  return 0;
}
