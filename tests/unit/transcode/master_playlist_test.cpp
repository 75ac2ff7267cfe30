#include <catch2/catch.hpp>

#include "transcode/master_playlist.h"
#include "transcode/rendition_spec.h"

using namespace weir;
using namespace weir::transcode;

TEST_CASE("the master playlist lists every variant with its attributes") {
  std::string m = render_master_playlist({{"../s.m3u8", 2500000, 1280, 720, "avc1.64001f,mp4a.40.2", 30},
                                          {"../s_360p.m3u8", 1328000, 640, 360, "avc1.64001e,mp4a.40.2", 29.97},
                                          {"../a.m3u8", 0, 0, 0, "", 0}});
  CHECK(m == "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=30.000\n"
             "../s.m3u8\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=1328000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",FRAME-RATE=29.970\n"
             "../s_360p.m3u8\n"
             "#EXT-X-STREAM-INF:BANDWIDTH=1\n../a.m3u8\n");
}

TEST_CASE("codec strings of renditions not yet running follow profile and level") {
  CHECK(expected_video_codecs("libx264", "", 640, 360, 30) == "avc1.64001e");
  CHECK(expected_video_codecs("libx264", "main", 1280, 720, 30) == "avc1.4d401f");
  CHECK(expected_video_codecs("libx264", "baseline", 1920, 1080, 30) == "avc1.42c028");
  CHECK(expected_video_codecs("libx265", "", 1280, 720, 30) == "hvc1.1.6.L93.B0");
}

TEST_CASE("rendition sizes keep the source's aspect and are even") {
  core::RenditionConfig c;
  c.height = 360;
  CHECK(rendition_size(c, 1280, 720) == std::pair<int, int>{640, 360});
  CHECK(rendition_size(c, 1920, 800) == std::pair<int, int>{864, 360});
  c.height = 0;
  c.width = 427;
  CHECK(rendition_size(c, 1280, 720) == std::pair<int, int>{426, 240});
  c.height = 100;
  CHECK(rendition_size(c, 1280, 720) == std::pair<int, int>{426, 100});
}

TEST_CASE("a measured frame rate snaps to a common one; NTSC only over a long span") {
  CHECK(snap_frame_rate(29.975, 10000) == 30.0);  // 10 s cannot tell 29.97 from 30
  CHECK(snap_frame_rate(30.02, 10000) == 30.0);
  CHECK(snap_frame_rate(29.97, 300000) == 29.97);
  CHECK(snap_frame_rate(30.0, 300000) == 30.0);
  CHECK(snap_frame_rate(59.94, 10000) == 60.0);
  CHECK(snap_frame_rate(59.941, 250000) == 59.94);
  CHECK(snap_frame_rate(25.3, 5000) == 25.0);
  CHECK(snap_frame_rate(15.0, 5000) == 15.0);  // no common rate within 5%: rounded
}
