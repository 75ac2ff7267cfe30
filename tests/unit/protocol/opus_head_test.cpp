// OpusHead (RFC 7845 5.1) parsing and building.
#include <catch2/catch.hpp>

#include "protocol/opus_head.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

TEST_CASE("OpusHead: stereo family 0, as libopus writes it", "[opus_head]") {
  const uint8_t head[] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0};
  auto h = parse_opus_head(head);
  REQUIRE(h);
  CHECK(h->channels == 2);
  CHECK(h->pre_skip == 312);
  CHECK(h->input_sample_rate == 48000);
  CHECK(h->mapping_family == 0);
  CHECK(h->stream_count == 1);
  CHECK(h->coupled_count == 1);
  auto built = build_opus_head(h.value());
  REQUIRE(built);
  CHECK(std::vector<uint8_t>(built->view().begin(), built->view().end()) ==
        std::vector<uint8_t>(std::begin(head), std::end(head)));
}

TEST_CASE("OpusHead: 5.1 with a mapping table round-trips, gain is signed", "[opus_head]") {
  OpusHead h;
  h.channels = 6;
  h.mapping_family = 1;
  h.stream_count = 4;
  h.coupled_count = 2;
  h.mapping = {0, 4, 1, 2, 3, 5};
  h.output_gain = -256;
  auto built = build_opus_head(h);
  REQUIRE(built);
  CHECK(built->size() == 27);
  auto back = parse_opus_head(built->view());
  REQUIRE(back);
  CHECK(back->channels == 6);
  CHECK(back->stream_count == 4);
  CHECK(back->coupled_count == 2);
  CHECK(back->mapping == h.mapping);
  CHECK(back->output_gain == -256);
}

TEST_CASE("OpusHead: malformed heads are refused", "[opus_head]") {
  uint8_t head[] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0};
  CHECK_THAT(parse_opus_head(ByteView(head, 18)).error(), Catch::Contains("not an OpusHead"));
  head[0] = 'o';
  CHECK_FALSE(parse_opus_head(head));
  head[0] = 'O';
  head[8] = 0x10;  // major version 1
  CHECK_THAT(parse_opus_head(head).error(), Catch::Contains("version"));
  head[8] = 1;
  head[9] = 0;
  CHECK_THAT(parse_opus_head(head).error(), Catch::Contains("channel count 0"));
  head[9] = 3;  // three channels need a mapping family
  CHECK_THAT(parse_opus_head(head).error(), Catch::Contains("mapping family"));
  head[18] = 1;  // family 1 but no table
  CHECK_THAT(parse_opus_head(head).error(), Catch::Contains("needs 24 bytes"));
  OpusHead bad;
  bad.channels = 2;
  bad.mapping_family = 1;
  bad.stream_count = 1;
  bad.coupled_count = 0;
  bad.mapping = {0, 1};  // channel 1 does not exist (1 stream, 0 coupled)
  CHECK_THAT(build_opus_head(bad).error(), Catch::Contains("mapping names channel 1"));
}
