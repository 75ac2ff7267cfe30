#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "record/cover.h"

using namespace weir::record;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "weir-cover-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Runs a shell command (paths are our own temp files: no quoting issues).
void run(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// "mjpeg,640,360" for a JPEG that ffprobe decodes.
std::string probe(const std::string& path) {
  return capture("ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 '" +
                 path + "'");
}

// A 2 s test pattern with a sine track, encoded with `vcodec`, as fragmented
// MP4 (what the recorder writes; make_cover reads a recorded segment).
std::string make_mp4(const TempDir& dir, const std::string& name, const std::string& vcodec,
                     const std::string& size = "640x360") {
  std::string out = dir.file(name);
  run("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=" + size +
      ":rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 -c:v " + vcodec +
      " -pix_fmt yuv420p -c:a aac -shortest -movflags +frag_keyframe+empty_moov+default_base_moof '" + out + "'");
  return out;
}

}  // namespace

TEST_CASE("cover: H.264 MP4 -> JPEG of the video size") {
  TempDir dir;
  auto mp4 = make_mp4(dir, "h264.mp4", "libx264 -preset ultrafast -g 30");
  auto jpg = dir.file("cover.jpg");
  auto st = make_cover(mp4, jpg);
  INFO(st.message());
  REQUIRE(st);
  CHECK(probe(jpg) == "mjpeg,640,360");
  CHECK_FALSE(fs::exists(jpg + ".tmp"));

  // Scaled down, aspect kept, dimensions even: 640x360 at 101 wide -> 100x56.
  REQUIRE(make_cover(mp4, jpg, 320));
  CHECK(probe(jpg) == "mjpeg,320,180");
  REQUIRE(make_cover(mp4, jpg, 101));
  CHECK(probe(jpg) == "mjpeg,100,56");
  // Never upscaled.
  REQUIRE(make_cover(mp4, jpg, 4000));
  CHECK(probe(jpg) == "mjpeg,640,360");
  CHECK_FALSE(make_cover(mp4, jpg, 1));
}

TEST_CASE("cover: video-range white and black become full-range JPEG white and black") {
  TempDir dir;
  for (const char* c : {"white", "black"}) {
    std::string mp4 = dir.file(std::string(c) + ".mp4");
    run(std::string("ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=") + c +
        ":size=320x240:rate=30 -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags +frag_keyframe+empty_moov+default_base_moof '" + mp4 + "'");
    auto jpg = dir.file(std::string(c) + ".jpg");
    // Unscaled (a plain copy in swscale unless told the ranges) and scaled.
    for (int max_width : {1280, 160}) {
      REQUIRE(make_cover(mp4, jpg, max_width));
      // The JPEG's luma as 8-bit gray (JPEG's Y is full range: 0..255).
      std::string gray = capture("ffmpeg -nostdin -loglevel error -i '" + jpg + "' -f rawvideo -pix_fmt gray -");
      REQUIRE(gray.size() >= size_t(std::min(max_width, 320) * 118));
      double sum = 0;
      for (unsigned char y : gray) sum += y;
      double mean = sum / double(gray.size());
      INFO(c << " at max_width " << max_width << ": mean luma " << mean);
      if (std::string(c) == "white")
        CHECK(mean > 250);  // 235 if the range were left limited
      else
        CHECK(mean < 5);  // 16 if the range were left limited
    }
  }
}

TEST_CASE("cover: HEVC MP4 -> JPEG") {
  TempDir dir;
  auto mp4 = make_mp4(dir, "hevc.mp4", "libx265 -preset ultrafast -x265-params log-level=error -tag:v hvc1");
  auto jpg = dir.file("cover.jpg");
  auto st = make_cover(mp4, jpg);
  INFO(st.message());
  REQUIRE(st);
  CHECK(probe(jpg) == "mjpeg,640,360");
}

TEST_CASE("cover: VP9 MP4 -> JPEG; an odd max_width gives even dimensions") {
  TempDir dir;
  auto mp4 = make_mp4(dir, "vp9.mp4", "libvpx-vp9 -deadline realtime -cpu-used 8", "322x182");
  auto jpg = dir.file("cover.jpg");
  auto st = make_cover(mp4, jpg);
  INFO(st.message());
  REQUIRE(st);
  CHECK(probe(jpg) == "mjpeg,322,182");
  REQUIRE(make_cover(mp4, jpg, 161));
  CHECK(probe(jpg) == "mjpeg,160,90");
}

TEST_CASE("cover: audio-only, garbage and missing inputs fail cleanly") {
  TempDir dir;
  auto jpg = dir.file("cover.jpg");

  auto audio = dir.file("audio.mp4");
  run("ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=frequency=440:duration=1 -c:a aac -movflags +frag_keyframe+empty_moov+default_base_moof '" + audio + "'");
  auto st = make_cover(audio, jpg);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("no video track"));
  CHECK_FALSE(fs::exists(jpg));

  auto garbage = dir.file("garbage.mp4");
  {
    std::ofstream f(garbage, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(char((i * 7919) & 0xff));
  }
  st = make_cover(garbage, jpg);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("garbage.mp4"));
  CHECK_FALSE(fs::exists(jpg));

  // A truncated MP4 (the header is there, the media is not).
  auto good = make_mp4(dir, "good.mp4", "libx264 -preset ultrafast");
  auto cut = dir.file("cut.mp4");
  fs::copy_file(good, cut);
  fs::resize_file(cut, 2000);
  st = make_cover(cut, jpg);
  CHECK_FALSE(st);
  CHECK_FALSE(fs::exists(jpg));

  st = make_cover(dir.file("missing.mp4"), jpg);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("missing.mp4"));

  // An unwritable destination: the error names it, no tmp is left behind.
  st = make_cover(good, dir.file("no/such/dir/cover.jpg"));
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("cannot create"));
}
