// The mp4 reader (used to check the fMP4 muxer) on malformed input.
#include "fmp4_test_support.h"

using namespace weir::fmp4_test;

// ---- mp4 reader on malformed input -----------------------------------------------------------------

TEST_CASE("mp4 reader rejects malformed boxes with a reason", "[fmp4][mp4_reader]") {
  auto err = [](std::vector<uint8_t> b) {
    auto r = read_mp4_boxes(bv(b));
    REQUIRE(!r.is_ok());
    return r.error();
  };
  CHECK(err({0, 0, 0, 9, 'f', 'r', 'e', 'e'}) == "free: size 9 exceeds the 8 bytes left");
  CHECK(err({0, 0, 0, 4, 'f', 'r', 'e', 'e'}) == "free: size 4 smaller than its 8-byte header");
  CHECK(err({0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0}) == "mdat: largesize truncated");
  CHECK(err({0, 0, 0, 8, 'f', 'r', 'e', 'e', 0, 0}) == "mp4: 2 bytes left, a box header needs 8");
  // size 0: to the end.
  std::vector<uint8_t> open_ended = {0, 0, 0, 0, 'm', 'd', 'a', 't', 1, 2, 3};
  auto r = read_mp4_boxes(bv(open_ended));
  REQUIRE(r.is_ok());
  CHECK((*r)[0].payload.size() == 3);

  // Nesting deeper than the cap.
  core::ByteWriter w;
  std::vector<size_t> starts;
  for (int i = 0; i < 40; ++i) starts.push_back(begin_box(w, box_type("moov")));
  for (size_t i = starts.size(); i-- > 0;) end_box(w, starts[i]);
  auto tree = read_mp4_box_tree(w.view());
  REQUIRE(!tree.is_ok());
  CHECK(tree.error() == "mp4: boxes nested deeper than 16");

  // Fragments whose trun lies about its sample count or data offset.
  auto out = run_muxer(only(flv_packets("h264_aac.flv"), core::TrackType::kAudio), 100);
  std::vector<uint8_t> frag = vec(out.segments[0][0].data.view());
  auto good = parse_mp4_fragments(bv(frag));
  REQUIRE(good.is_ok());
  // moof(8) mfhd(16) traf(8) tfhd(16) tfdt(20) trun header(12) -> sample_count at 80.
  REQUIRE(frag[72] == 't');
  std::vector<uint8_t> many = frag;
  many[80] = 0x10;  // 0x10000000+ samples
  auto bad = parse_mp4_fragments(bv(many));
  REQUIRE(!bad.is_ok());
  CHECK(bad.error() == "trun: 268435461 samples need 3221225532 bytes, 60 left");
  std::vector<uint8_t> off = frag;
  off[86] ^= 0x40;  // data_offset far past the mdat
  bad = parse_mp4_fragments(bv(off));
  REQUIRE(!bad.is_ok());
  CHECK(bad.error().find("outside the mdat") != std::string::npos);
}
