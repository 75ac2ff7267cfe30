// AV1 sequence headers and av1C records from OBUs. The record is libaom's
// (tests/fuzz/corpus/codec_config/av1c_libaom); real encoder output is
// covered by protocol_av_tests.
#include <catch2/catch.hpp>

#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {
const uint8_t kLibaomAv1c[] = {0x81, 0x00, 0x0c, 0x00, 0x0a, 0x0a, 0x00, 0x00,
                               0x00, 0x02, 0xaf, 0xff, 0x9b, 0x5f, 0x20, 0x08};
std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }
}  // namespace

TEST_CASE("AV1: sequence header fields and an av1C rebuilt from its OBU", "[av1_obu]") {
  ByteView obus = ByteView(kLibaomAv1c).subspan(4);
  std::vector<Obu> list;
  REQUIRE(split_obus(obus, list));
  REQUIRE(list.size() == 1);
  REQUIRE(list[0].type == kObuSequenceHeader);
  Av1SequenceHeader h;
  REQUIRE(parse_av1_sequence_header(list[0].payload, h));
  CHECK(h.seq_profile == 0);
  CHECK(h.seq_level_idx_0 == 0);
  CHECK(h.bit_depth == 8);
  CHECK_FALSE(h.mono_chrome);
  CHECK(h.subsampling_x);
  CHECK(h.subsampling_y);
  uint32_t w = 0, hh = 0;
  REQUIRE(parse_av1_sequence_header_size(list[0].payload, w, hh));
  CHECK(w == h.max_width);
  CHECK(hh == h.max_height);

  auto rec = build_av1_codec_config(obus);
  REQUIRE(rec);
  CHECK(vec(rec->view()) == vec(kLibaomAv1c));  // the same record libaom made

  // An OBU without a size field gets one in the record.
  std::vector<uint8_t> bare = {uint8_t(kLibaomAv1c[4] & ~0x02)};
  bare.insert(bare.end(), kLibaomAv1c + 6, kLibaomAv1c + 16);
  auto rec2 = build_av1_codec_config(bare);
  REQUIRE(rec2);
  CHECK(vec(rec2->view()) == vec(kLibaomAv1c));
}

TEST_CASE("AV1: sample OBUs lose temporal delimiters and padding", "[av1_obu]") {
  // temporal delimiter (type 2, size 0), padding (type 15, 1 byte), frame (type 6, 2 bytes)
  const uint8_t tu[] = {0x12, 0x00, 0x7A, 0x01, 0xEE, 0x32, 0x02, 0xAA, 0xBB};
  core::ByteWriter w;
  REQUIRE(append_av1_sample_obus(tu, w));
  CHECK(vec(w.view()) == std::vector<uint8_t>{0x32, 0x02, 0xAA, 0xBB});
  auto stripped = strip_av1_obus(core::Slice::copy_of(tu));
  CHECK(vec(stripped.view()) == std::vector<uint8_t>{0x32, 0x02, 0xAA, 0xBB});
  const uint8_t overrun[] = {0x32, 0x05, 0xAA};
  core::ByteWriter w2;
  CHECK_FALSE(append_av1_sample_obus(overrun, w2));
  CHECK(w2.size() == 0);
}

TEST_CASE("AV1: no or malformed sequence header is named", "[av1_obu]") {
  const uint8_t frame_only[] = {0x32, 0x02, 0xAA, 0xBB};
  CHECK_THAT(build_av1_codec_config(frame_only).error(), Catch::Contains("no sequence header"));
  const uint8_t cut_seq[] = {0x0A, 0x01, 0x00};
  CHECK_THAT(build_av1_codec_config(cut_seq).error(), Catch::Contains("malformed sequence header"));
  const uint8_t not_obus[] = {0x80};
  CHECK_THAT(build_av1_codec_config(not_obus).error(), Catch::Contains("not AV1 OBUs"));
}
