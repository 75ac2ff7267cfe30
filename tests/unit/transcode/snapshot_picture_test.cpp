// The latest picture from a GOP: real encoders (Debian's libavcodec) ->
// AvToMedia -> hub packets -> GopCollector -> decode_latest_picture. The
// picture must be the newest in display order (B-frames reorder), from the
// newest GOP only, and encode to a JPEG/PNG of the right size.
#include <catch2/catch.hpp>

#include <algorithm>

#include "../protocol_av/av_test_support.h"
#include "origin/hub_packet.h"
#include "protocol/av/picture_encoder.h"
#include "transcode/snapshot_picture.h"

using namespace weir;
using transcode::GopCollector;

namespace {

std::vector<origin::PacketRef> hub_packets(const test::Encoded& e) {
  std::vector<origin::PacketRef> out;
  for (auto& m : test::to_media(*e.par, e.time_base, e.packets)) out.push_back(origin::HubPacket::make(m, 4096));
  return out;
}

// The newest GOP's frames and the largest pts among them.
int64_t newest_gop_max_pts(const std::vector<origin::PacketRef>& pkts, size_t& gop_frames) {
  size_t last_key = 0;
  for (size_t i = 0; i < pkts.size(); ++i)
    if (pkts[i]->media().is_keyframe() && !pkts[i]->media().is_config()) last_key = i;
  int64_t max_pts = -1;
  gop_frames = 0;
  for (size_t i = last_key; i < pkts.size(); ++i) {
    max_pts = std::max(max_pts, pkts[i]->media().pts);
    ++gop_frames;
  }
  return max_pts;
}

void check_latest(const char* encoder, test::VideoOptions o) {
  test::Encoded e = test::encode_video(encoder, o);
  auto pkts = hub_packets(e);
  GopCollector gop;
  for (auto& p : pkts) gop.add(p);
  REQUIRE(gop.complete());
  size_t frames = 0;
  const int64_t want_pts = newest_gop_max_pts(pkts, frames);
  CHECK(gop.gop().frames.size() == frames);
  CHECK(gop.gop().frames.front()->media().is_keyframe());
  auto pic = transcode::decode_latest_picture(gop.gop(), "test/stream");
  INFO((pic ? std::string() : pic.error()));
  REQUIRE(pic);
  CHECK((*pic)->width == o.width);
  CHECK((*pic)->height == o.height);
  CHECK((*pic)->pts == want_pts);  // the newest in display order

  auto jpeg = protocol::av::encode_picture(**pic, protocol::av::PictureFormat::kJpeg, 64, "t");
  REQUIRE(jpeg);
  CHECK((*jpeg)->data[0] == 0xff);
  CHECK((*jpeg)->data[1] == 0xd8);
  auto png = protocol::av::encode_picture(**pic, protocol::av::PictureFormat::kPng, 4000, "t");
  REQUIRE(png);
  CHECK((*png)->data[1] == 'P');
}

}  // namespace

TEST_CASE("snapshot picture: H.264 with B-frames -> the newest picture of the newest GOP") {
  test::VideoOptions o;
  o.frames = 40;  // keyframes every 12: the newest GOP starts at 36
  o.max_b_frames = 2;
  o.options = {{"preset", "veryfast"}};
  check_latest("libx264", o);
}

TEST_CASE("snapshot picture: HEVC") {
  test::VideoOptions o;
  o.frames = 30;
  o.options = {{"preset", "ultrafast"}, {"x265-params", "log-level=error:bframes=2:keyint=12:min-keyint=12"}};
  check_latest("libx265", o);
}

TEST_CASE("snapshot picture: VP9 (size from the keyframe)") {
  test::VideoOptions o;
  o.frames = 14;
  o.options = {{"deadline", "realtime"}, {"cpu-used", "8"}, {"lag-in-frames", "0"}};
  check_latest("libvpx-vp9", o);
}

TEST_CASE("snapshot picture: audio-only, no keyframe, damaged frames") {
  GopCollector none;
  CHECK_FALSE(none.complete());
  CHECK_FALSE(none.video_seen());
  CHECK_FALSE(transcode::decode_latest_picture(none.gop(), "t/s"));

  test::VideoOptions o;
  o.frames = 12;
  test::Encoded e = test::encode_video("libx264", o);
  auto pkts = hub_packets(e);
  GopCollector config_only;
  config_only.add(pkts.front());  // the config, no keyframe yet
  CHECK(config_only.video_seen());
  CHECK_FALSE(config_only.complete());

  // Every frame's payload replaced by garbage of the same size: no picture,
  // an error naming the stream, no crash.
  transcode::SnapshotGop bad;
  bad.config = pkts.front();
  for (size_t i = 1; i < pkts.size(); ++i) {
    core::MediaPacket m = pkts[i]->media();
    std::vector<uint8_t> body(m.body.view().begin(), m.body.view().end());
    for (size_t j = m.payload_offset; j < body.size(); ++j) body[j] = uint8_t(j * 37 + 11);
    m.body = core::Slice::copy_of(body);
    bad.frames.push_back(origin::HubPacket::make(m, 4096));
  }
  auto r = transcode::decode_latest_picture(bad, "live/broken");
  REQUIRE_FALSE(r);
  CHECK(r.error().find("live/broken") != std::string::npos);
}
