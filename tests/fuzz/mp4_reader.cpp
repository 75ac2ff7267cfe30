// Fuzz target: the bounded ISO BMFF reader (box tree, init segment, fragments)
// and the fMP4 muxer on publisher-controlled bytes (decoder configs, AV1 OBUs,
// Opus TOCs, timestamps).
//
// Input byte 0 selects the mode:
//   even: the rest is MP4 bytes for read_mp4_box_tree / parse_mp4_init /
//         parse_mp4_fragments. Aborts if a sample view lies outside the input.
//   odd:  byte 1 picks the codec (H.264, HEVC, AV1, AAC, Opus), bytes 2-3 the
//         config length, then the config, then records of
//         [u16 size][u8 flags][u8 dts step ms][i8 cts ms][payload]. Whatever the
//         muxer produces must read back with the reader: the init segment with
//         one track, every fragment with the sample count the muxer reported
//         and tfdt continuity per track.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

#include "core/media_packet.h"
#include "protocol/fmp4_muxer.h"
#include "protocol/mp4_reader.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {

bool inside(ByteView outer, ByteView inner) {
  if (inner.empty()) return true;
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

void fuzz_reader(ByteView in) {
  Mp4ReaderLimits limits;
  limits.max_boxes = 4096;
  limits.max_samples = 1 << 16;
  (void)read_mp4_box_tree(in, limits);
  auto init = parse_mp4_init(in, limits);
  if (init.is_ok()) {
    for (const auto& t : init->tracks) {
      if (!inside(in, t.config)) abort();
    }
  }
  auto frags = parse_mp4_fragments(in, init.is_ok() ? &*init : nullptr, limits);
  if (frags.is_ok()) {
    for (const auto& f : *frags) {
      for (const auto& r : f.tracks) {
        for (const auto& s : r.samples) {
          if (s.data.size() != s.size || !inside(in, s.data)) abort();
        }
      }
    }
  }
}

void fuzz_muxer(ByteView in) {
  if (in.size() < 3) return;
  static constexpr core::Codec kCodecs[5] = {core::Codec::kH264, core::Codec::kHEVC,
                                             core::Codec::kAV1, core::Codec::kAAC,
                                             core::Codec::kOpus};
  core::Codec codec = kCodecs[in[0] % 5];
  bool video = in[0] % 5 < 3;
  size_t cfg_len = size_t(in[1]) << 8 | in[2];
  in = in.subspan(3);
  if (cfg_len > in.size()) return;

  auto make = [&](ByteView payload, uint8_t flags, int64_t dts, int64_t pts) {
    core::MediaPacket p;
    p.track = video ? core::TrackType::kVideo : core::TrackType::kAudio;
    p.codec = codec;
    p.flags = flags;
    p.dts = dts;
    p.pts = pts;
    p.body = core::Slice::copy_of(payload);
    return p;
  };

  Fmp4MuxerOptions opts;
  opts.max_pending_samples = 64;
  opts.max_pending_bytes = 1 << 20;
  Fmp4Muxer mux(opts);
  auto r = mux.add_packet(make(in.first(cfg_len), core::packet_flags::kConfig, 0, 0));
  if (!r.is_ok() || *r != Fmp4AddResult::kConfigStored) return;
  in = in.subspan(cfg_len);
  auto init_seg = mux.init_segment();
  if (!init_seg.is_ok()) abort();  // a stored config must give an init segment
  auto init = parse_mp4_init(init_seg->view());
  if (!init.is_ok() || init->tracks.size() != 1) abort();

  std::map<uint32_t, uint64_t> next_decode;
  uint32_t seq = 1;
  auto check_fragment = [&](const Fmp4Fragment& f) {
    if (f.empty()) return;
    auto parsed = parse_mp4_fragments(f.data.view(), &*init);
    if (!parsed.is_ok() || parsed->size() != 1) abort();
    size_t n = 0;
    for (const auto& t : (*parsed)[0].tracks) {
      if (next_decode.count(t.track_id) && t.base_decode_time < next_decode[t.track_id]) {
        // Decode times never go backwards (they may jump forward on gaps).
        abort();
      }
      uint64_t d = t.base_decode_time;
      for (const auto& s : t.samples) d += s.duration;
      next_decode[t.track_id] = d;
      n += t.samples.size();
    }
    if (n != size_t(f.video_samples) + f.audio_samples) abort();
  };

  int64_t dts = 0;
  while (in.size() >= 5) {
    size_t size = size_t(in[0]) << 8 | in[1];
    uint8_t flags = in[2] & (core::packet_flags::kKeyframe | core::packet_flags::kConfig |
                             core::packet_flags::kDisposable);
    dts += in[3];
    int64_t pts = dts + int8_t(in[4]);
    in = in.subspan(5);
    size = std::min(size, in.size());
    auto res = mux.add_packet(make(in.first(size), flags, dts, pts));
    in = in.subspan(size);
    if (res.is_ok() && *res == Fmp4AddResult::kConfigChanged) {
      check_fragment(mux.flush_fragment(seq++));
      auto again = mux.init_segment();
      if (!again.is_ok()) abort();
      auto reparsed = parse_mp4_init(again->view());
      if (!reparsed.is_ok()) abort();
      init = std::move(reparsed);
      next_decode.clear();
    }
    if (mux.has_ready_samples() && (flags & core::packet_flags::kDisposable)) {
      check_fragment(mux.flush_fragment(seq++));
    }
  }
  mux.end_held_samples();
  check_fragment(mux.flush_fragment(seq++));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ByteView in(data + 1, size - 1);
  if (data[0] & 1) {
    fuzz_muxer(in);
  } else {
    fuzz_reader(in);
  }
  return 0;
}
