// H.264/HEVC parameter sets between Annex B and avcC/hvcC, on the encoder
// fixtures in data/ (see codec_config_test.cpp for how they were made).
#include <catch2/catch.hpp>

#include "protocol/codec_config.h"
#include "protocol/parameter_sets.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {
ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }
std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }
}  // namespace

TEST_CASE("parameter sets: start code detection", "[parameter_sets]") {
  const uint8_t three[] = {0, 0, 1, 0x67};
  const uint8_t four[] = {0, 0, 0, 1, 0x67};
  const uint8_t avcc[] = {1, 0x64, 0, 0x1F};
  const uint8_t zeros[] = {0, 0, 0, 0};
  CHECK(has_start_code_prefix(three));
  CHECK(has_start_code_prefix(four));
  CHECK_FALSE(has_start_code_prefix(avcc));
  CHECK_FALSE(has_start_code_prefix(zeros));
  CHECK_FALSE(has_start_code_prefix(ByteView()));
}

TEST_CASE("parameter sets: H.264 Annex B and avcC make one canonical record", "[parameter_sets]") {
  auto es = weir::test::load("h264_320x240.h264");
  auto nals = split_annexb(bv(es));
  // The whole stream: SPS/PPS once (duplicates would be dropped), slices ignored.
  auto from_stream = avc_config_from_nals(nals);
  REQUIRE(from_stream);
  auto parsed = parse_avc_decoder_config(from_stream->view());
  REQUIRE(parsed);
  CHECK(parsed->sps.size() == 1);
  CHECK(parsed->pps.size() == 1);
  CHECK(parsed->nal_length_size == 4);

  // Annex B extradata (SPS + PPS with start codes) and that record agree.
  auto annexb = avc_config_to_annexb(from_stream->view());
  REQUIRE(annexb);
  CHECK(has_start_code_prefix(annexb->view()));
  auto again = avc_config_from_extradata(annexb->view());
  REQUIRE(again);
  CHECK(vec(again->view()) == vec(from_stream->view()));
  auto from_record = avc_config_from_extradata(from_stream->view());
  REQUIRE(from_record);
  CHECK(vec(from_record->view()) == vec(from_stream->view()));

  // A record with 2-byte NAL lengths keeps them.
  std::vector<ByteView> sets = {parsed->sps[0].view(), parsed->pps[0].view()};
  auto two = avc_config_from_nals(sets, 2);
  REQUIRE(two);
  auto two_again = avc_config_from_extradata(two->view());
  REQUIRE(two_again);
  CHECK(parse_avc_decoder_config(two_again->view())->nal_length_size == 2);
}

TEST_CASE("parameter sets: libx265's Annex B and FFmpeg's hvcC make one canonical record", "[parameter_sets]") {
  auto es = weir::test::load("hevc_320x240.hevc");
  auto hvcc = weir::test::load("hevc_320x240.hvcc");  // FFmpeg's, with x265's SEI array
  auto nals = split_annexb(bv(es));
  std::vector<ByteView> extradata_nals(nals.begin(), nals.begin() + 4);  // VPS SPS PPS SEI
  auto from_annexb = hevc_config_from_nals(extradata_nals);
  auto from_hvcc = hevc_config_from_extradata(bv(hvcc));
  REQUIRE(from_annexb);
  REQUIRE(from_hvcc);
  CHECK(vec(from_annexb->view()) == vec(from_hvcc->view()));
  auto c = parse_hevc_decoder_config(from_hvcc->view());
  REQUIRE(c);
  CHECK(c->arrays.size() == 3);  // the SEI array is not carried over
  auto annexb = hevc_config_to_annexb(from_hvcc->view());
  REQUIRE(annexb);
  auto back = split_annexb(annexb->view());
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(vec(back[i]) == vec(nals[i]));
}

TEST_CASE("parameter sets: what is missing or malformed is named", "[parameter_sets]") {
  const uint8_t pps_only[] = {0, 0, 0, 1, 0x68, 0xEE, 0x3C, 0x80};
  auto r = avc_config_from_extradata(pps_only);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("0 SPS and 1 PPS"));
  const uint8_t short_avcc[] = {1, 0x64, 0};
  r = avc_config_from_extradata(short_avcc);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("avcC"));
  r = hevc_config_from_extradata(pps_only);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("0 VPS"));
  const uint8_t no_pps_avcc[] = {1, 0x42, 0, 0x1E, 0xFF, 0xE0, 0};
  r = avc_config_to_annexb(no_pps_avcc);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("no SPS"));
}
