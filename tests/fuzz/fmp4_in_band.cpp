// Fuzz target: the fMP4 muxer's in-band configurations (fmp4_in_band.h) and
// the muxer fed with them. Input: byte 0 picks the path, the rest is the
// payload. MP3 packets split into frames that tile the payload exactly; VP9
// key frames (with or without a record taken from the payload's first 12
// bytes) give an entry whose vpcC parses back; the muxer never fails on
// either, and its init segment and fragment parse with the mp4 reader.
#include <cstdint>
#include <cstdlib>

#include "protocol/flv_tag.h"
#include "protocol/fmp4_in_band.h"
#include "protocol/fmp4_muxer.h"
#include "protocol/mp4_reader.h"

using namespace weir;
using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  core::ByteView in(data + 1, size - 1);
  Fmp4Muxer mux;
  core::MediaPacket pkt;
  if (mode & 1) {
    auto p = split_mp3_packet(in);
    if (p) {
      size_t total = 0;
      for (core::ByteView f : p->frames) {
        if (f.data() != in.data() + total) abort();
        total += f.size();
      }
      if (total != in.size() || (p->channels != 1 && p->channels != 2)) abort();
    }
    core::ByteWriter w(1 + in.size());
    w.u8(0x2F);  // MP3, 44 kHz, 16-bit, stereo
    w.bytes(in);
    auto m = make_media_packet(kFlvTagAudio, 0, w.finish());
    if (!m) return 0;
    pkt = *m;
  } else {
    core::ByteView record = (mode & 2) && in.size() >= 12 ? in.subspan(0, 12) : core::ByteView();
    core::ByteView frame = record.empty() ? in : in.subspan(12);
    if (auto e = vp9_sample_entry(record, frame); e.is_ok()) {
      if (!parse_vp9_codec_config(e->vpcc.view()) || e->width == 0 || e->height == 0) abort();
    }
    if (!record.empty()) {
      auto cfg = make_media_packet(kFlvTagVideo, 0,
                                   build_video_tag_enhanced(kFourccVp09, kVideoFrameKey, kVideoPacketSequenceStart,
                                                            0, record));
      if (cfg) (void)mux.add_packet(*cfg);
    }
    auto m = make_media_packet(kFlvTagVideo, 0,
                               build_video_tag_enhanced(kFourccVp09, kVideoFrameKey, kVideoPacketCodedFramesX, 0,
                                                        frame));
    if (!m) return 0;
    pkt = *m;
  }
  auto r = mux.add_packet(pkt);
  if (mode & 1) {
    if (!r) abort();  // MP3: dropped and counted, never an error
  }
  if (!r || mux.tracks().empty()) return 0;
  auto init = mux.init_segment();
  if (!init) abort();
  auto pi = parse_mp4_init(init->view());
  if (!pi) abort();
  mux.end_held_samples();
  Fmp4Fragment f = mux.flush_fragment(1);
  if (!f.empty() && !parse_mp4_fragments(f.data.view(), &*pi)) abort();
  return 0;
}
