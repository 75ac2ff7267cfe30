// Latency probe SEI: byte layout, escaping, and that it survives Weir's own
// remuxing to MPEG-TS (TsMuxer -> TsScanner) and fMP4 (Fmp4Muxer -> mp4
// reader), as HLS/LL-HLS players see it. Input is real encoder output:
// tests/unit/protocol/data/h264_aac.flv (50 H.264 frames, 88 AAC frames).
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "loadgen/flv_clip.h"
#include "loadgen/parsers.h"
#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"
#include "protocol/flv_writer.h"
#include "protocol/fmp4_muxer.h"
#include "protocol/mp4_box.h"
#include "protocol/mp4_reader.h"
#include "protocol/ts_muxer.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::loadgen;
using core::ByteView;

namespace {

using weir::test::load;

// The clip's tags as MediaPackets; every video frame gets a probe SEI first,
// stamped 1000000 + 7 * frame number (µs), as the publisher does.
std::vector<core::MediaPacket> probed_packets(const FlvClip& clip, std::vector<uint64_t>* stamps) {
  std::vector<core::MediaPacket> out;
  uint64_t frame = 0;
  for (const ClipTag& t : clip.tags) {
    core::Slice body = t.body;
    if (t.video_frame && t.h264) {
      uint64_t us = 1000000 + 7 * frame++;
      if (stamps) stamps->push_back(us);
      uint8_t sei[kProbeNalMaxSize];
      size_t n = write_probe_sei_nal(sei, us);
      core::ByteWriter w;
      w.bytes(t.body.view().subspan(0, t.payload_offset));
      w.u32be(uint32_t(n));
      w.bytes(ByteView(sei, n));
      w.bytes(t.body.view().subspan(t.payload_offset));
      body = w.finish();
    }
    auto p = protocol::make_media_packet(t.type, t.ts_ms, body);
    REQUIRE(p.is_ok());
    if (!p->is_data() && !(p->payload().empty() && !p->is_config())) out.push_back(*p);
  }
  return out;
}

}  // namespace

TEST_CASE("probe SEI: layout, escaping and round trip") {
  for (uint64_t t : {uint64_t(0), uint64_t(1), uint64_t(0x0000000300000000ull), uint64_t(0x0000010000000203ull),
                     uint64_t(1763730000123456ull), ~uint64_t(0)}) {
    uint8_t nal[kProbeNalMaxSize];
    size_t n = write_probe_sei_nal(nal, t);
    REQUIRE(n <= kProbeNalMaxSize);
    CHECK(nal[0] == 0x06);
    CHECK(nal[1] == 5);   // user_data_unregistered
    CHECK(nal[2] == 24);  // 16 + 8 bytes
    CHECK(std::equal(kProbeUuid, kProbeUuid + 16, nal + 3));
    CHECK(nal[n - 1] == 0x80);
    // No start-code emulation inside the NAL unit.
    for (size_t i = 0; i + 2 < n; ++i) CHECK_FALSE((nal[i] == 0 && nal[i + 1] == 0 && nal[i + 2] <= 2));
    auto back = parse_probe_sei(ByteView(nal, n));
    REQUIRE(back.has_value());
    CHECK(*back == t);
  }
  uint8_t nal[kProbeNalMaxSize];
  size_t n = write_probe_sei_nal(nal, 0);
  CHECK(n == 1 + 2 + 16 + 8 + 1 + 3);  // 8 zero bytes need 3 emulation prevention bytes
  // Not ours: another UUID, another payload type, truncated, not an SEI.
  std::vector<uint8_t> other(nal, nal + n);
  other[3] ^= 1;
  CHECK_FALSE(parse_probe_sei(ByteView(other.data(), other.size())));
  other = std::vector<uint8_t>(nal, nal + n);
  other[1] = 4;
  CHECK_FALSE(parse_probe_sei(ByteView(other.data(), other.size())));
  CHECK_FALSE(parse_probe_sei(ByteView(nal, 20)));
  other = std::vector<uint8_t>(nal, nal + n);
  other[0] = 0x65;
  CHECK_FALSE(parse_probe_sei(ByteView(other.data(), other.size())));
}

TEST_CASE("probe SEI found in AVCC and Annex-B access units") {
  uint8_t sei[kProbeNalMaxSize];
  size_t n = write_probe_sei_nal(sei, 123456789);
  const uint8_t aud[] = {0x09, 0xF0};
  const uint8_t idr[] = {0x65, 0x88, 0x84, 0x00, 0x33};
  core::ByteWriter avcc;
  for (ByteView nal : {ByteView(aud, 2), ByteView(sei, n), ByteView(idr, 5)}) {
    avcc.u32be(uint32_t(nal.size()));
    avcc.bytes(nal);
  }
  CHECK(find_probe_in_avcc(avcc.view(), 4) == 123456789u);
  CHECK_FALSE(find_probe_in_avcc(avcc.view(), 4, 1));     // only the AUD looked at
  CHECK_FALSE(find_probe_in_avcc(avcc.view(), 3));        // wrong length size: a length past the end
  CHECK_FALSE(find_probe_in_avcc(avcc.view().subspan(0, 10), 4));
  core::ByteWriter annexb;
  for (ByteView nal : {ByteView(aud, 2), ByteView(sei, n), ByteView(idr, 5)}) {
    annexb.bytes(ByteView(reinterpret_cast<const uint8_t*>("\0\0\0\1"), 4));
    annexb.bytes(nal);
  }
  CHECK(find_probe_in_annexb(annexb.view()) == 123456789u);
  CHECK(annexb_has_keyframe_nal(annexb.view()));
  CHECK_FALSE(annexb_has_keyframe_nal(annexb.view().subspan(0, 8 + n)));
  CHECK_FALSE(find_probe_in_annexb(annexb.view().subspan(0, 12)));  // SEI cut off
}

TEST_CASE("FlvClip: tags, configs, loop span") {
  auto file = load("h264_aac.flv");
  auto clip = FlvClip::parse(ByteView(file.data(), file.size()));
  REQUIRE(clip.is_ok());
  CHECK(clip->video_frames == 50);
  CHECK(clip->nal_length_size == 4);
  size_t configs = 0, audio = 0, keys = 0;
  int64_t last = 0;
  for (const auto& t : clip->tags) {
    configs += t.config;
    audio += t.type == protocol::kFlvTagAudio && !t.config;
    keys += t.keyframe;
    last = std::max(last, t.ts_ms);
  }
  CHECK(configs == 2);
  CHECK(audio == 88);
  CHECK(keys >= 1);
  CHECK(clip->tags.front().ts_ms == 0);
  // One video frame interval past the last tag, so loop 2 starts after loop 1 ends.
  CHECK(clip->loop_span_ms > last);
  CHECK(clip->loop_span_ms <= last + 100);
  CHECK_FALSE(FlvClip::parse(ByteView(file.data(), 13)).is_ok());  // header only: no tags
  CHECK_FALSE(FlvClip::load("/nonexistent/clip.flv").is_ok());
}

TEST_CASE("probe survives TsMuxer and is read back by TsScanner, split anywhere") {
  auto file = load("h264_aac.flv");
  auto clip = FlvClip::parse(ByteView(file.data(), file.size()));
  REQUIRE(clip.is_ok());
  std::vector<uint64_t> stamps;
  auto packets = probed_packets(*clip, &stamps);
  protocol::TsMuxer mux;
  core::ByteWriter ts;
  mux.write_tables(ts);
  std::map<int64_t, bool> video_keys;  // dts -> keyframe
  for (const auto& p : packets) {
    REQUIRE(mux.write_packet(ts, p).is_ok());
    if (p.is_video() && !p.is_config()) video_keys[p.dts] = p.is_keyframe();
  }
  mux.flush(ts);
  core::Slice bytes = ts.finish();
  for (size_t step : {size_t(1), size_t(100), size_t(188), size_t(1316), bytes.size()}) {
    TsScanner scan;
    std::vector<TsFrame> frames;
    auto cb = [&](const TsFrame& f) { frames.push_back(f); };
    for (size_t i = 0; i < bytes.size(); i += step)
      REQUIRE(scan.feed(bytes.view().subspan(i, std::min(step, bytes.size() - i)), cb).is_ok());
    scan.end_segment(cb);
    std::vector<uint64_t> probes;
    size_t video = 0, audio = 0, keys = 0;
    int64_t first_dts = -1;
    for (const auto& f : frames) {
      if (!f.video) {
        ++audio;
        continue;
      }
      if (first_dts < 0) first_dts = f.dts_ms;
      ++video;
      keys += f.keyframe;
      if (f.probe_us) probes.push_back(*f.probe_us);
    }
    CHECK(video == 50);
    CHECK(audio == 88);
    CHECK(probes == stamps);
    size_t want_keys = 0;
    for (auto& [dts, k] : video_keys) want_keys += k;
    CHECK(keys == want_keys);
    CHECK(scan.packets() == bytes.size() / 188);
  }
  TsScanner bad;
  const uint8_t junk[200] = {0x12};
  CHECK_FALSE(bad.feed(ByteView(junk, sizeof junk), [](const TsFrame&) {}).is_ok());
}

TEST_CASE("probe survives Fmp4Muxer and is read back from the parsed fragments") {
  auto file = load("h264_aac.flv");
  auto clip = FlvClip::parse(ByteView(file.data(), file.size()));
  REQUIRE(clip.is_ok());
  std::vector<uint64_t> stamps;
  auto packets = probed_packets(*clip, &stamps);
  protocol::Fmp4Muxer mux;
  std::vector<core::Slice> frags;
  for (const auto& p : packets) {
    REQUIRE(mux.add_packet(p).is_ok());
    if (mux.ready_duration_ms() >= 200) frags.push_back(mux.flush_fragment(uint32_t(frags.size() + 1)).data);
  }
  mux.end_held_samples();
  frags.push_back(mux.flush_fragment(uint32_t(frags.size() + 1)).data);
  auto init_bytes = mux.init_segment();
  REQUIRE(init_bytes.is_ok());
  auto init = protocol::parse_mp4_init(init_bytes->view());
  REQUIRE(init.is_ok());
  std::vector<uint64_t> probes;
  size_t syncs = 0;
  for (const auto& f : frags) {
    if (f.empty()) continue;
    auto parsed = protocol::parse_mp4_fragments(f.view(), &*init);
    REQUIRE(parsed.is_ok());
    for (const auto& fr : *parsed)
      for (const auto& run : fr.tracks) {
        const auto* t = init->find(run.track_id);
        REQUIRE(t);
        if (t->handler != protocol::box_type("vide")) continue;
        for (const auto& s : run.samples) {
          syncs += s.is_sync();
          if (auto us = find_probe_in_avcc(s.data, 4)) probes.push_back(*us);
        }
      }
  }
  CHECK(probes == stamps);
  CHECK(syncs >= 1);
}
