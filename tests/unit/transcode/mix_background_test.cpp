// A mix's background picture: the colour alone, an image scaled to fit with
// the colour around it, and files that are refused (real files written by
// ffmpeg; the pixels read back from the yuv420p frame).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "transcode/image_source.h"
#include "transcode/mix_background.h"

using namespace weir;
namespace fs = std::filesystem;

namespace {
int luma(const AVFrame& f, int x, int y) { return f.data[0][y * f.linesize[0] + x]; }
int cr(const AVFrame& f, int x, int y) { return f.data[2][(y / 2) * f.linesize[2] + x / 2]; }
}  // namespace

TEST_CASE("mix background: colour, image over colour with aspect kept, refused files") {
  const fs::path dir = fs::temp_directory_path() / ("weir_mix_bg_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string white = (dir / "white.png").string(), txt = (dir / "x.png").string();
  // A 2:1 white image on a 1:1 canvas: bars of the colour above and below.
  REQUIRE(std::system(("ffmpeg -v error -y -f lavfi -i color=c=white:size=64x32 -frames:v 1 " + white).c_str()) == 0);
  std::ofstream(txt) << "not an image at all\n";

  auto plain = transcode::make_mix_background(64, 64, 0xff0000, "");
  REQUIRE(plain);
  CHECK((*plain)->width == 64);
  CHECK((*plain)->format == AV_PIX_FMT_YUV420P);
  CHECK(cr(**plain, 32, 32) > 200);  // red: high Cr

  auto img = transcode::make_mix_background(64, 64, 0xff0000, white);
  REQUIRE(img);
  CHECK(luma(**img, 32, 32) > 230);  // the image in the middle
  CHECK(cr(**img, 32, 4) > 200);     // the colour in the bar above it
  CHECK(cr(**img, 32, 60) > 200);    // and below

  auto bad = transcode::make_mix_background(64, 64, 0, txt);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().rfind("background.image: ", 0) == 0);
  auto missing = transcode::make_mix_background(64, 64, 0, (dir / "none.png").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().rfind("background.image: ", 0) == 0);

  // A PNG header asking for a huge picture is refused before any decoding.
  const std::string huge = (dir / "huge.png").string();
  {
    std::ofstream f(huge, std::ios::binary);
    const unsigned char hdr[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                 0, 1, 0, 0, 0, 1, 0, 0, 8, 6, 0, 0, 0, 0, 0, 0, 0};
    f.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
  }
  auto st = transcode::check_image_file(huge, "background.image");
  REQUIRE_FALSE(st);
  CHECK(st.message().find("65536x65536") != std::string::npos);
  fs::remove_all(dir);
}
