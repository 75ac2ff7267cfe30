// Codec configuration records, SPS parsing, ADTS and NAL framing on real
// encoder output. Fixtures (tests/unit/protocol/data), all from ffmpeg 5.1:
//   h264_aac.flv          see flv_tag_test.cpp (its avcC is written by FFmpeg)
//   h264_320x240.h264     testsrc2 320x240, libx264 -crf 45 -g 5, 10 frames, Annex-B
//   h264_200x90.h264      testsrc2 200x90 (cropped), libx264, 3 frames
//   h264_444_200x90.h264  same, -pix_fmt yuv444p -profile:v high444
//   hevc_320x240.hevc     libx265 -x265-params keyint=5 into MP4, then
//                         -c copy -bsf:v hevc_mp4toannexb (10 frames)
//   hevc_320x240.hvcc     the hvcC box of that same MP4
//   hevc_200x90.hevc      libx265 200x90 (conformance window), 3 frames
//   aac_48k_mono.aac      sine 48 kHz mono, aac 24k, ADTS, 11 frames
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protocol/codec_config.h"
#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {

using weir::test::load;

ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }
std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

std::vector<int> h264_types(const std::vector<ByteView>& nals) {
  std::vector<int> t;
  for (ByteView n : nals) t.push_back(h264_nal_type(n[0]));
  return t;
}
std::vector<int> hevc_types(const std::vector<ByteView>& nals) {
  std::vector<int> t;
  for (ByteView n : nals) t.push_back(hevc_nal_type(n[0]));
  return t;
}

// The avcC that ffmpeg's FLV muxer wrote for h264_aac.flv.
std::vector<uint8_t> flv_avcc() {
  auto file = load("h264_aac.flv");
  std::vector<uint8_t> out;
  FlvReader r(FlvReaderOptions{});
  auto st = r.feed(bv(file), [&](const FlvTag& t) {
    if (t.type == kFlvTagVideo && out.empty()) {
      auto v = parse_video_tag(t.body.view());
      REQUIRE(v.is_ok());
      REQUIRE(v->is_config);
      out = vec(t.body.view().subspan(v->payload_offset));
    }
    return core::Status::ok();
  });
  REQUIRE(st.is_ok());
  return out;
}

}  // namespace

TEST_CASE("avcC: parse ffmpeg's record, rebuild it byte for byte", "[codec_config]") {
  auto avcc = flv_avcc();
  REQUIRE(avcc.size() == 45);
  auto c = parse_avc_decoder_config(bv(avcc));
  REQUIRE(c.is_ok());
  CHECK(c->version == 1);
  CHECK(c->profile == 100);  // High
  CHECK(c->profile_compat == 0);
  CHECK(c->level == 13);
  CHECK(c->nal_length_size == 4);
  REQUIRE(c->sps.size() == 1);
  REQUIRE(c->pps.size() == 1);
  CHECK(c->sps[0].size() == 25);
  CHECK(c->pps[0].size() == 5);
  CHECK(c->has_ext);
  CHECK(c->chroma_format == 1);
  CHECK(c->bit_depth_luma == 8);
  CHECK(c->bit_depth_chroma == 8);

  auto sps = parse_h264_sps(c->sps[0].view());
  REQUIRE(sps.is_ok());
  CHECK(sps->profile_idc == 100);
  CHECK(sps->level_idc == 13);
  CHECK(sps->chroma_format_idc == 1);
  CHECK(sps->frame_mbs_only);
  CHECK(sps->width == 320);
  CHECK(sps->height == 240);

  auto built = build_avc_decoder_config({c->sps[0].view()}, {c->pps[0].view()});
  REQUIRE(built.is_ok());
  CHECK(vec(built->view()) == avcc);

  // The Slice overload shares the record's buffer.
  core::Slice rec = core::Slice::copy_of(bv(avcc));
  auto shared = parse_avc_decoder_config(rec);
  REQUIRE(shared.is_ok());
  CHECK(shared->sps[0].buffer() == rec.buffer());

  // Every truncation fails with a reason, except those that only cut the
  // optional high-profile extension.
  for (size_t len = 0; len < avcc.size(); ++len) {
    auto t = parse_avc_decoder_config(ByteView(avcc.data(), len));
    if (len >= 41) {
      REQUIRE(t.is_ok());
      CHECK(!t->has_ext);
    } else {
      REQUIRE(!t.is_ok());
      CHECK(t.error().rfind("avcC: ", 0) == 0);
    }
  }
  auto bad = avcc;
  bad[6] = 0x01;  // SPS length 0x0119
  CHECK(parse_avc_decoder_config(bv(bad)).error() == "avcC: SPS 0 length 281 exceeds the 37 bytes left");
  bad = avcc;
  bad[0] = 0;
  CHECK(parse_avc_decoder_config(bv(bad)).error() == "avcC: configurationVersion 0, want 1");
}

TEST_CASE("H.264 Annex-B: split, SPS dimensions with cropping, avcC", "[codec_config]") {
  auto es = load("h264_320x240.h264");
  auto nals = split_annexb(bv(es));
  CHECK(h264_types(nals) == std::vector<int>{7, 8, 6, 5, 1, 1, 1, 1, 7, 8, 5, 1, 1, 1, 1});
  CHECK(nals[0].size() == 25);
  auto d = parse_h264_sps_dimensions(nals[0]);
  REQUIRE(d.is_ok());
  CHECK(d->width == 320);
  CHECK(d->height == 240);

  auto small = load("h264_200x90.h264");
  auto sn = split_annexb(bv(small));
  CHECK(h264_types(sn) == std::vector<int>{7, 8, 6, 5, 1, 1});
  auto sd = parse_h264_sps_dimensions(sn[0]);
  REQUIRE(sd.is_ok());
  CHECK(sd->width == 200);
  CHECK(sd->height == 90);  // 96 coded rows, 6 cropped

  auto yuv444 = load("h264_444_200x90.h264");
  auto yn = split_annexb(bv(yuv444));
  REQUIRE(h264_types(yn).at(0) == 7);
  auto ys = parse_h264_sps(yn[0]);
  REQUIRE(ys.is_ok());
  CHECK(ys->profile_idc == 244);
  CHECK(ys->chroma_format_idc == 3);
  CHECK(ys->width == 200);
  CHECK(ys->height == 90);
  auto yc = build_avc_decoder_config({yn[0]}, {yn[1]});
  REQUIRE(yc.is_ok());
  auto ycp = parse_avc_decoder_config(yc->view());
  REQUIRE(ycp.is_ok());
  CHECK(ycp->profile == 244);
  CHECK(ycp->has_ext);
  CHECK(ycp->chroma_format == 3);
  CHECK(vec(ycp->sps[0].view()) == vec(yn[0]));
  // Byte-identical to the avcC ffmpeg 5.1 writes into FLV for the same encode.
  const std::vector<uint8_t> ffmpeg_444 = {
      0x01, 0xf4, 0x00, 0x0b, 0xff, 0xe1, 0x00, 0x19, 0x67, 0xf4, 0x00, 0x0b, 0x91, 0x9b, 0x28,
      0x69, 0xbc, 0x4c, 0xf8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x07,
      0x8a, 0x14, 0xcb, 0x01, 0x00, 0x07, 0x68, 0xef, 0x81, 0x34, 0x64, 0x86, 0x40, 0xff, 0xf8,
      0xf8, 0x00};
  CHECK(vec(yc->view()) == ffmpeg_444);

  // SPS truncated anywhere before the cropping fields fails cleanly.
  for (size_t len = 0; len < 10; ++len) CHECK(!parse_h264_sps(sn[0].first(len)).is_ok());
  for (size_t len = 0; len <= sn[0].size(); ++len) (void)parse_h264_sps(sn[0].first(len));
  CHECK(parse_h264_sps(nals[1]).error() == "H.264 SPS: NAL type 8 is not 7");

  // avcC construction errors.
  CHECK(build_avc_decoder_config({}, {nals[1]}).error() == "avcC: 0 SPS (need 1..31)");
  CHECK(build_avc_decoder_config({nals[1]}, {nals[1]}).error() ==
        "avcC: SPS 0 is not an SPS NAL unit of 4..65535 bytes");
  CHECK(build_avc_decoder_config({nals[0]}, {nals[0]}).error() ==
        "avcC: PPS 0 is not a PPS NAL unit of 1..65535 bytes");
  CHECK(!build_avc_decoder_config({nals[0]}, {nals[1]}, 3).is_ok());
}

TEST_CASE("Annex-B <-> length-prefixed round trips are byte-identical", "[codec_config]") {
  for (const char* name : {"h264_320x240.h264", "hevc_320x240.hevc"}) {
    auto es = load(name);
    auto nals = split_annexb(bv(es));
    core::ByteWriter lp;
    REQUIRE(annexb_to_length_prefixed(bv(es), lp, 4).is_ok());
    size_t expect = 0;
    for (ByteView n : nals) expect += 4 + n.size();
    CHECK(lp.size() == expect);

    core::ByteWriter ab;
    REQUIRE(length_prefixed_to_annexb(lp.view(), 4, ab).is_ok());
    // Back to Annex-B: same NAL units, each behind a 4-byte start code.
    auto again = split_annexb(ab.view());
    REQUIRE(again.size() == nals.size());
    for (size_t i = 0; i < nals.size(); ++i) CHECK(vec(again[i]) == vec(nals[i]));
    if (std::string(name) == "hevc_320x240.hevc") {
      // x265 writes 4-byte start codes everywhere, so this direction is exact too.
      CHECK(vec(ab.view()) == es);
    }
    // And length-prefixed again: identical to the first conversion.
    core::ByteWriter lp2;
    REQUIRE(annexb_to_length_prefixed(ab.view(), lp2, 4).is_ok());
    CHECK(vec(lp2.view()) == vec(lp.view()));

    auto split = split_length_prefixed(lp.view(), 4);
    REQUIRE(split.is_ok());
    REQUIRE(split->size() == nals.size());
    CHECK(vec(split->back()) == vec(nals.back()));

    // 2-byte prefixes work for these small NAL units as well.
    core::ByteWriter lp16;
    REQUIRE(annexb_to_length_prefixed(bv(es), lp16, 2).is_ok());
    core::ByteWriter ab16;
    REQUIRE(length_prefixed_to_annexb(lp16.view(), 2, ab16).is_ok());
    CHECK(vec(ab16.view()) == vec(ab.view()));
  }

  // The FLV keyframe payload (written by ffmpeg) converts and comes back.
  auto file = load("h264_aac.flv");
  FlvReader r(FlvReaderOptions{});
  int checked = 0;
  REQUIRE(r.feed(bv(file), [&](const FlvTag& t) {
             if (t.type != kFlvTagVideo) return core::Status::ok();
             auto p = make_media_packet(t.type, t.timestamp_ms, t.body);
             if (!p->is_keyframe()) return core::Status::ok();
             core::ByteWriter ab, lp;
             REQUIRE(length_prefixed_to_annexb(p->payload(), 4, ab).is_ok());
             REQUIRE(annexb_to_length_prefixed(ab.view(), lp, 4).is_ok());
             CHECK(vec(lp.view()) == vec(p->payload()));
             ++checked;
             return core::Status::ok();
           }).is_ok());
  CHECK(checked == 2);
}

TEST_CASE("length-prefixed parsing checks every length", "[codec_config]") {
  std::vector<uint8_t> ok = {0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 0, 0, 0, 0, 1, 0x41};
  auto s = split_length_prefixed(bv(ok), 4);
  REQUIRE(s.is_ok());
  CHECK(s->size() == 2);  // the zero-length unit is skipped
  std::vector<uint8_t> over = {0, 0, 0, 9, 0x65, 0x88};
  CHECK(split_length_prefixed(bv(over), 4).error() == "NAL 0: length 9 exceeds the 2 bytes left");
  std::vector<uint8_t> partial = {0, 0, 0, 1, 0x65, 0, 0};
  CHECK(split_length_prefixed(bv(partial), 4).error() == "NAL 1: 2 bytes left, length field needs 4");
  CHECK(split_length_prefixed(bv(ok), 0).error() == "NAL length size 0 is not 1..4");
  CHECK(split_length_prefixed(bv(ok), 5).error() == "NAL length size 5 is not 1..4");
  core::ByteWriter w;
  CHECK(!length_prefixed_to_annexb(bv(over), 4, w).is_ok());
  std::vector<uint8_t> big(300, 0x41);
  CHECK(append_length_prefixed_nal(w, bv(big), 1).message() ==
        "NAL unit of 300 bytes does not fit a 1-byte length");
  for (size_t len = 0; len <= ok.size(); ++len) {
    for (int n = 1; n <= 4; ++n) (void)split_length_prefixed(ByteView(ok.data(), len), n);
  }
}

TEST_CASE("split_annexb edge cases", "[codec_config]") {
  CHECK(split_annexb({}).empty());
  std::vector<uint8_t> none = {1, 2, 3, 0, 0, 2};
  CHECK(split_annexb(bv(none)).empty());
  std::vector<uint8_t> mixed = {0xAA, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0, 0, 1, 0, 0, 1, 0x65, 0x00, 0x00};
  auto n = split_annexb(bv(mixed));
  REQUIRE(n.size() == 3);
  CHECK(vec(n[0]) == std::vector<uint8_t>{0x67, 0x42});
  CHECK(vec(n[1]) == std::vector<uint8_t>{0x68});
  CHECK(vec(n[2]) == std::vector<uint8_t>{0x65});
  std::vector<uint8_t> only = {0, 0, 1};
  CHECK(split_annexb(bv(only)).empty());
}

TEST_CASE("hvcC built from libx265 parameter sets matches ffmpeg's", "[codec_config]") {
  auto es = load("hevc_320x240.hevc");
  auto nals = split_annexb(bv(es));
  CHECK(hevc_types(nals) == std::vector<int>{32, 33, 34, 39, 20, 1, 1, 0, 0, 32, 33, 34, 39, 21, 1, 1, 0, 0});
  auto sps = parse_hevc_sps(nals[1]);
  REQUIRE(sps.is_ok());
  CHECK(sps->general_profile_idc == 1);  // Main
  CHECK(sps->general_level_idc == 60);   // level 2
  CHECK(sps->chroma_format_idc == 1);
  CHECK(sps->bit_depth_luma == 8);
  CHECK(sps->width == 320);
  CHECK(sps->height == 240);

  auto ref = load("hevc_320x240.hvcc");
  auto rc = parse_hevc_decoder_config(bv(ref));
  REQUIRE(rc.is_ok());
  CHECK(rc->nal_length_size == 4);
  CHECK(rc->general_profile_idc == 1);
  CHECK(rc->general_level_idc == 60);
  REQUIRE(rc->arrays.size() == 4);  // VPS, SPS, PPS and x265's SEI

  auto built = build_hevc_decoder_config({nals[0]}, {nals[1]}, {nals[2]});
  REQUIRE(built.is_ok());
  // The fixed 22-byte part is identical to FFmpeg's; FFmpeg adds a fourth
  // array (the SEI) so numOfArrays differs.
  CHECK(vec(built->view().first(22)) == vec(bv(ref).first(22)));
  auto bc = parse_hevc_decoder_config(built->view());
  REQUIRE(bc.is_ok());
  CHECK(bc->general_profile_space == rc->general_profile_space);
  CHECK(bc->general_tier_flag == rc->general_tier_flag);
  CHECK(bc->general_profile_compatibility_flags == rc->general_profile_compatibility_flags);
  CHECK(bc->general_constraint_indicator_flags == rc->general_constraint_indicator_flags);
  CHECK(bc->chroma_format_idc == rc->chroma_format_idc);
  CHECK(bc->bit_depth_luma == rc->bit_depth_luma);
  CHECK(bc->bit_depth_chroma == rc->bit_depth_chroma);
  CHECK(bc->num_temporal_layers == rc->num_temporal_layers);
  CHECK(bc->temporal_id_nested == rc->temporal_id_nested);
  REQUIRE(bc->arrays.size() == 3);
  for (uint8_t type : {kHevcNalVps, kHevcNalSps, kHevcNalPps}) {
    auto a = bc->nalus_of_type(type);
    auto b = rc->nalus_of_type(type);
    REQUIRE(a.size() == 1);
    REQUIRE(b.size() == 1);
    CHECK(vec(a[0].view()) == vec(b[0].view()));
  }
  auto dims = parse_hevc_sps_dimensions(rc->nalus_of_type(kHevcNalSps)[0].view());
  REQUIRE(dims.is_ok());
  CHECK(dims->width == 320);
  CHECK(dims->height == 240);

  for (size_t len = 0; len < ref.size(); ++len) {
    auto t = parse_hevc_decoder_config(ByteView(ref.data(), len));
    REQUIRE(!t.is_ok());
    CHECK(t.error().rfind("hvcC: ", 0) == 0);
  }
  CHECK(build_hevc_decoder_config({}, {nals[1]}, {nals[2]}).error() == "hvcC: 0 VPS (need at least one)");
  CHECK(build_hevc_decoder_config({nals[1]}, {nals[1]}, {nals[2]}).error() ==
        "hvcC: VPS 0 is not a VPS NAL unit of 3..65535 bytes");

  auto small = load("hevc_200x90.hevc");
  auto sn = split_annexb(bv(small));
  REQUIRE(hevc_types(sn).at(1) == 33);
  auto sd = parse_hevc_sps_dimensions(sn[1]);
  REQUIRE(sd.is_ok());
  CHECK(sd->width == 200);
  CHECK(sd->height == 90);  // conformance window on 96 coded rows
  for (size_t len = 0; len <= sn[1].size(); ++len) {
    auto t = parse_hevc_sps(sn[1].first(len));
    if (len < 20) CHECK(!t.is_ok());
  }
  CHECK(parse_hevc_sps(sn[0]).error() == "HEVC SPS: NAL type 32 is not 33");
}

TEST_CASE("AAC AudioSpecificConfig parse/build", "[codec_config]") {
  std::vector<uint8_t> lc = {0x12, 0x10};
  auto c = parse_aac_audio_specific_config(bv(lc));
  REQUIRE(c.is_ok());
  CHECK(c->object_type == 2);
  CHECK(c->sampling_frequency_index == 4);
  CHECK(c->sampling_frequency == 44100);
  CHECK(c->channel_configuration == 2);
  CHECK(!c->sbr);
  CHECK(vec(build_aac_audio_specific_config(c.value())->view()) == lc);

  // ffmpeg's FLV config has a trailing SBR sync extension (56 e5 00); the
  // base fields parse the same.
  std::vector<uint8_t> flv = {0x12, 0x10, 0x56, 0xE5, 0x00};
  CHECK(parse_aac_audio_specific_config(bv(flv))->sampling_frequency == 44100);

  AacConfig mono48;
  mono48.object_type = 2;
  mono48.sampling_frequency_index = 3;
  mono48.sampling_frequency = 48000;
  mono48.channel_configuration = 1;
  auto m = build_aac_audio_specific_config(mono48);
  REQUIRE(m.is_ok());
  CHECK(vec(m->view()) == std::vector<uint8_t>{0x11, 0x88});

  // Explicit HE-AAC v2 signalling: AOT 29, 24 kHz core, 48 kHz SBR, then AOT 2.
  AacConfig he;
  he.object_type = 2;
  he.sampling_frequency_index = 6;
  he.sampling_frequency = 24000;
  he.channel_configuration = 1;
  he.sbr = true;
  he.ps = true;
  he.extension_sampling_frequency = 48000;
  auto hb = build_aac_audio_specific_config(he);
  REQUIRE(hb.is_ok());
  auto hp = parse_aac_audio_specific_config(hb->view());
  REQUIRE(hp.is_ok());
  CHECK(hp->object_type == 2);
  CHECK(hp->sbr);
  CHECK(hp->ps);
  CHECK(hp->sampling_frequency == 24000);
  CHECK(hp->extension_sampling_frequency == 48000);
  CHECK(hp->channel_configuration == 1);

  // Escape object type (31 + 6 bits) and an explicit 24-bit frequency.
  AacConfig esc;
  esc.object_type = 42;
  esc.sampling_frequency_index = 15;
  esc.sampling_frequency = 12345;
  esc.channel_configuration = 2;
  auto eb = build_aac_audio_specific_config(esc);
  REQUIRE(eb.is_ok());
  CHECK(eb->view()[0] >> 3 == 31);
  auto ep = parse_aac_audio_specific_config(eb->view());
  REQUIRE(ep.is_ok());
  CHECK(ep->object_type == 42);
  CHECK(ep->sampling_frequency_index == 15);
  CHECK(ep->sampling_frequency == 12345);
  CHECK(ep->channel_configuration == 2);

  std::vector<uint8_t> empty;
  CHECK(parse_aac_audio_specific_config(bv(empty)).error() ==
        "AudioSpecificConfig: 0 bytes, truncated object type");
  std::vector<uint8_t> one = {0x12};
  CHECK(parse_aac_audio_specific_config(bv(one)).error() ==
        "AudioSpecificConfig: truncated sampling frequency index");
  std::vector<uint8_t> pce = {0x12, 0x00};  // channel configuration 0: defined in a PCE
  CHECK(parse_aac_audio_specific_config(bv(pce))->channel_configuration == 0);
  std::vector<uint8_t> reserved = {0x16, 0x90};  // index 13
  CHECK(parse_aac_audio_specific_config(bv(reserved)).error() ==
        "AudioSpecificConfig: reserved sampling frequency index 13");
  for (size_t len = 0; len < eb->size(); ++len) {
    CHECK(!parse_aac_audio_specific_config(eb->view().first(len)).is_ok());
  }
  CHECK(aac_sampling_frequency(3) == 48000);
  CHECK(aac_sampling_frequency(13) == 0);
  CHECK(aac_sampling_frequency_index(22050) == 7);
  CHECK(aac_sampling_frequency_index(12345) == 15);
}

TEST_CASE("ADTS: parse ffmpeg's stream, rebuild identical headers", "[codec_config]") {
  auto adts = load("aac_48k_mono.aac");
  size_t pos = 0;
  int frames = 0;
  while (pos < adts.size()) {
    auto h = parse_adts_header(bv(adts).subspan(pos));
    REQUIRE(h.is_ok());
    CHECK(h->config.object_type == 2);
    CHECK(h->config.sampling_frequency == 48000);
    CHECK(h->config.sampling_frequency_index == 3);
    CHECK(h->config.channel_configuration == 1);
    CHECK(h->protection_absent);
    CHECK(h->header_size == 7);
    CHECK(h->raw_data_blocks == 1);
    REQUIRE(pos + h->frame_length <= adts.size());
    auto built = build_adts_header(h->config, h->frame_length - 7u);
    REQUIRE(built.is_ok());
    CHECK(std::vector<uint8_t>(built->begin(), built->end()) == vec(bv(adts).subspan(pos, 7)));
    // ADTS config -> AudioSpecificConfig for an FLV AAC sequence header.
    CHECK(vec(build_aac_audio_specific_config(h->config)->view()) == std::vector<uint8_t>{0x11, 0x88});
    pos += h->frame_length;
    ++frames;
  }
  CHECK(frames == 11);
  CHECK(pos == adts.size());

  for (size_t len = 0; len < 7; ++len) CHECK(!parse_adts_header(bv(adts).first(len)).is_ok());
  std::vector<uint8_t> bad = {0xFF, 0xF1, 0x4C, 0x40, 0x00, 0x1F, 0xFC};  // frame_length 0
  CHECK(parse_adts_header(bv(bad)).error() == "ADTS: frame length 0 is shorter than the 7-byte header");
  std::vector<uint8_t> nosync = {0xFE, 0xF1, 0x4C, 0x40, 0x0E, 0x7F, 0xFC};
  CHECK(parse_adts_header(bv(nosync)).error() == "ADTS: no syncword");
  AacConfig big;
  CHECK(build_adts_header(big, 9000).status().message() == "ADTS: frame of 9007 bytes exceeds 8191");
  big.object_type = 5;
  CHECK(!build_adts_header(big, 10).is_ok());
}

TEST_CASE("av1C from libaom", "[codec_config]") {
  // av1C box of `ffmpeg -f lavfi -i testsrc2=size=64x64 -frames:v 1 -c:v libaom-av1 out.mp4`.
  std::vector<uint8_t> av1c = {0x81, 0x00, 0x0c, 0x00, 0x0a, 0x0a, 0x00, 0x00,
                               0x00, 0x02, 0xaf, 0xff, 0x9b, 0x5f, 0x20, 0x08};
  auto c = parse_av1_codec_config(bv(av1c));
  REQUIRE(c.is_ok());
  CHECK(c->version == 1);
  CHECK(c->seq_profile == 0);
  CHECK(c->seq_level_idx_0 == 0);
  CHECK(!c->seq_tier_0);
  CHECK(!c->high_bitdepth);
  CHECK(!c->monochrome);
  CHECK(c->chroma_subsampling_x);
  CHECK(c->chroma_subsampling_y);
  CHECK(c->chroma_sample_position == 0);
  CHECK(!c->initial_presentation_delay_present);
  REQUIRE(c->config_obus.size() == 12);
  CHECK((c->config_obus.view()[0] >> 3 & 0x0F) == 1);  // OBU_SEQUENCE_HEADER
  for (size_t len = 0; len < 4; ++len) CHECK(!parse_av1_codec_config(bv(av1c).first(len)).is_ok());
  auto bad = av1c;
  bad[0] = 0x01;
  CHECK(parse_av1_codec_config(bv(bad)).error() == "av1C: marker bit not set");
}

TEST_CASE("nal_to_rbsp removes emulation prevention bytes", "[codec_config]") {
  std::vector<uint8_t> nal = {0x67, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x03};
  CHECK(nal_to_rbsp(bv(nal)) == std::vector<uint8_t>{0x67, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03});
}
