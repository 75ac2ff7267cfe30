// VPCodecConfigurationRecord and VP9 frame headers. Frames are written bit by
// bit after the VP9 bitstream spec 6.2 (uncompressed_header) and Annex B
// (superframes); the real libvpx output is covered by protocol_av_tests.
#include <catch2/catch.hpp>

#include "protocol/bit_io.h"
#include "protocol/vp9_config.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {

// frame_marker, profile, show_existing_frame 0, frame_type, show_frame 1,
// error_resilient 0; for key frames sync code, color config, frame size.
std::vector<uint8_t> vp9_frame(int profile, bool key, uint32_t w, uint32_t h, int color_space = 2,
                               bool ten_or_twelve = false) {
  BitWriter b;
  b.put(2, 2);
  b.put(profile & 1, 1);
  b.put(profile >> 1, 1);
  if (profile == 3) b.put(0, 1);
  b.put(0, 1);
  b.put(key ? 0 : 1, 1);
  b.put(1, 1);
  b.put(0, 1);
  if (key) {
    b.put(0x498342, 24);
    if (profile >= 2) b.put(ten_or_twelve, 1);
    b.put(uint32_t(color_space), 3);
    if (color_space != 7) {
      b.put(0, 1);  // studio range
      if (profile == 1 || profile == 3) b.put(0b100, 3);  // subsampling_x 1, y 0 (4:2:2), reserved
    } else if (profile == 1 || profile == 3) {
      b.put(0, 1);
    }
    b.put(w - 1, 16);
    b.put(h - 1, 16);
  }
  b.put(0xABCD, 16);  // the rest of the frame
  return b.finish();
}

}  // namespace

TEST_CASE("vpcC: build, parse, both forms; refusals", "[vp9_config]") {
  Vp9Config c;
  c.profile = 2;
  c.level = 31;
  c.bit_depth = 10;
  c.chroma_subsampling = kVp9Chroma420Colocated;
  c.full_range = true;
  c.colour_primaries = 9;
  c.transfer_characteristics = 16;
  c.matrix_coefficients = 9;
  core::Slice rec = build_vp9_codec_config(c);
  REQUIRE(rec.size() == 12);
  CHECK(rec.view()[0] == 1);  // FullBox version 1, as FFmpeg writes it
  auto back = parse_vp9_codec_config(rec.view());
  REQUIRE(back);
  CHECK(back->profile == 2);
  CHECK(back->level == 31);
  CHECK(back->bit_depth == 10);
  CHECK(back->chroma_subsampling == kVp9Chroma420Colocated);
  CHECK(back->full_range);
  CHECK(back->colour_primaries == 9);
  CHECK(back->transfer_characteristics == 16);
  CHECK(back->matrix_coefficients == 9);
  auto bare = parse_vp9_codec_config(rec.view().subspan(4));
  REQUIRE(bare);
  CHECK(bare->bit_depth == 10);

  std::vector<uint8_t> v(rec.view().begin(), rec.view().end());
  v[0] = 0;  // version 0 has another layout
  CHECK_THAT(parse_vp9_codec_config(v).error(), Catch::Contains("version 0"));
  v[0] = 1;
  v[11] = 2;  // codec initialization data
  CHECK_THAT(parse_vp9_codec_config(v).error(), Catch::Contains("initialization"));
  v[11] = 0;
  v[6] = 0x90;  // bit depth 9
  CHECK_THAT(parse_vp9_codec_config(v).error(), Catch::Contains("bit depth 9"));
  CHECK_FALSE(parse_vp9_codec_config(ByteView(v.data(), 7)));
}

TEST_CASE("VP9 frame header: key frame size and colour, inter frames, superframes", "[vp9_config]") {
  auto key = vp9_frame(0, true, 128, 72);
  auto h = parse_vp9_frame_header(key);
  REQUIRE(h);
  CHECK(h->keyframe);
  CHECK(h->width == 128);
  CHECK(h->height == 72);
  CHECK(h->bit_depth == 8);
  CHECK(h->subsampling_x);
  CHECK(h->subsampling_y);
  Vp9Config c = vp9_config_from_keyframe(h.value());
  CHECK(c.profile == 0);
  CHECK(c.chroma_subsampling == kVp9Chroma420Vertical);
  CHECK(c.matrix_coefficients == 1);  // CS_BT_709

  auto k422 = parse_vp9_frame_header(vp9_frame(3, true, 640, 360, 1, true));
  REQUIRE(k422);
  CHECK(k422->profile == 3);
  CHECK(k422->bit_depth == 12);
  CHECK(k422->subsampling_x);
  CHECK_FALSE(k422->subsampling_y);
  CHECK(vp9_config_from_keyframe(k422.value()).chroma_subsampling == kVp9Chroma422);

  auto rgb = parse_vp9_frame_header(vp9_frame(1, true, 16, 16, 7));
  REQUIRE(rgb);
  CHECK(vp9_config_from_keyframe(rgb.value()).chroma_subsampling == kVp9Chroma444);
  CHECK(vp9_config_from_keyframe(rgb.value()).matrix_coefficients == 0);

  auto inter = parse_vp9_frame_header(vp9_frame(0, false, 0, 0));
  REQUIRE(inter);
  CHECK_FALSE(inter->keyframe);

  // Superframe: a hidden inter frame then the key frame, 1-byte sizes.
  auto a = vp9_frame(0, false, 0, 0);
  std::vector<uint8_t> sf = a;
  sf.insert(sf.end(), key.begin(), key.end());
  uint8_t marker = 0xC0 | (0 << 3) | 1;  // 2 frames, 1 byte each
  sf.push_back(marker);
  sf.push_back(uint8_t(a.size()));
  sf.push_back(uint8_t(key.size()));
  sf.push_back(marker);
  auto s = parse_vp9_frame_header(sf);
  REQUIRE(s);
  CHECK(s->keyframe);
  CHECK(s->width == 128);

  // A superframe index that claims more than is there is not used.
  sf[sf.size() - 2] = 200;
  auto first = parse_vp9_frame_header(sf);
  REQUIRE(first);
  CHECK_FALSE(first->keyframe);
}

TEST_CASE("VP9 frame header: malformed frames are refused", "[vp9_config]") {
  CHECK_THAT(parse_vp9_frame_header(ByteView()).error(), Catch::Contains("empty"));
  const uint8_t bad_marker[] = {0x00, 0x00};
  CHECK_THAT(parse_vp9_frame_header(bad_marker).error(), Catch::Contains("frame marker"));
  auto key = vp9_frame(0, true, 128, 72);
  key[2] ^= 0xFF;  // inside the sync code
  CHECK_THAT(parse_vp9_frame_header(key).error(), Catch::Contains("sync"));
  auto cut = vp9_frame(0, true, 128, 72);
  CHECK_THAT(parse_vp9_frame_header(ByteView(cut.data(), 5)).error(), Catch::Contains("truncated"));
}
