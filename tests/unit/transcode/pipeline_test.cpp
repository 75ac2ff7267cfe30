// TranscodePipeline with Debian's real libx264 and libavfilter: synthetic
// H.264 sources (tests/unit/protocol_av/av_test_support) go through the
// decoder, the split/scale graph and one encoder per rendition.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "../protocol_av/av_test_support.h"
#include "core/media_packet.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/codec_parameters.h"
#include "protocol/av/media_to_av.h"
#include "transcode/transcode_pipeline.h"
#include "transcode/watermark_board.h"

using namespace weir;
using transcode::RenditionSpec;
using transcode::TranscodePipeline;

namespace {

std::vector<core::MediaPacket> source(int w, int h, int frames, int64_t offset_ms = 0) {
  test::VideoOptions o;
  o.width = w;
  o.height = h;
  o.frames = frames;
  o.options = {{"x264-params", "keyint=12:min-keyint=12:scenecut=0"}, {"preset", "ultrafast"}};
  auto enc = test::encode_video("libx264", o);
  auto pkts = test::to_media(*enc.par, enc.time_base, enc.packets);
  for (auto& p : pkts) {
    p.dts += offset_ms;
    p.pts += offset_ms;
  }
  return pkts;
}

RenditionSpec spec(const char* name, int64_t w, int64_t h) {
  RenditionSpec s;
  s.name = name;
  s.stream = std::string("s_") + name;
  s.cfg.width = w;
  s.cfg.height = h;
  s.cfg.preset = "ultrafast";
  s.cfg.bitrate_kbps = 200;
  return s;
}

struct Out {
  std::vector<core::MediaPacket> config, frames;
};

std::vector<Out> run(TranscodePipeline& p, const std::vector<core::MediaPacket>& in, size_t n) {
  std::vector<Out> outs(n);
  std::vector<TranscodePipeline::Output> got;
  for (const auto& m : in) {
    got.clear();
    REQUIRE(p.push(m, got));
    for (auto& o : got) (o.pkt.is_config() ? outs[o.rendition].config : outs[o.rendition].frames).push_back(o.pkt);
  }
  return outs;
}

// The size a rendition's config announces.
std::pair<int, int> size_of(const core::MediaPacket& config) {
  auto par = protocol::av::make_codec_parameters();
  REQUIRE(protocol::av::codec_parameters_from_config(config, par.get()));
  return {par->width, par->height};
}

std::set<int64_t> key_pts(const std::vector<core::MediaPacket>& v) {
  std::set<int64_t> k;
  for (const auto& m : v)
    if (m.is_keyframe() && !m.is_config()) k.insert(m.pts);
  return k;
}

}  // namespace

TEST_CASE("renditions are scaled with the aspect kept and keyframes on the source's") {
  const auto in = source(128, 72, 72);
  TranscodePipeline p({spec("small", 0, 36), spec("wide", 96, 0)}, 1);
  auto outs = run(p, in, 2);
  REQUIRE(outs[0].config.size() == 1);
  REQUIRE(outs[1].config.size() == 1);
  CHECK(size_of(outs[0].config[0]) == std::pair<int, int>{64, 36});
  CHECK(size_of(outs[1].config[0]) == std::pair<int, int>{96, 54});
  const auto src_keys = key_pts(in);
  REQUIRE(src_keys.size() == 6);
  for (const auto& o : outs) {
    REQUIRE(o.frames.size() >= 40);  // the encoder's lookahead holds the last ones
    const auto keys = key_pts(o.frames);
    const int64_t last = o.frames.back().pts;
    for (int64_t k : keys) CHECK(src_keys.count(k) == 1);
    for (int64_t k : src_keys)
      if (k <= last) CHECK(keys.count(k) == 1);
    // Decodable, in dts order.
    CHECK(std::is_sorted(o.frames.begin(), o.frames.end(), [](auto& a, auto& b) { return a.dts < b.dts; }));
  }
  CHECK(p.stats().frames_in == 72);
  CHECK(p.stats().graph_builds == 1);
}

TEST_CASE("a resolution change reopens the decoder and graph; the outputs keep their size") {
  auto in = source(128, 72, 36);
  const int64_t next = in.back().dts + 40;
  auto more = source(160, 120, 36, next);
  in.insert(in.end(), more.begin(), more.end());
  TranscodePipeline p({spec("small", 64, 36)}, 1);
  auto outs = run(p, in, 1);
  REQUIRE(outs[0].config.size() == 1);  // the encoder did not change
  CHECK(size_of(outs[0].config[0]) == std::pair<int, int>{64, 36});
  CHECK(p.stats().reopens == 1);
  CHECK(p.stats().graph_builds == 2);
  CHECK(p.stats().frames_in == 72);
  CHECK(outs[0].frames.back().pts > next);
}

TEST_CASE("audio is copied to every rendition after the video that precedes it") {
  auto in = source(128, 72, 48);
  test::AudioOptions ao;
  ao.frames = 40;
  auto a = test::encode_audio("aac", ao);
  auto audio = test::to_media(*a.par, a.time_base, a.packets);
  std::vector<core::MediaPacket> mixed;
  std::merge(in.begin(), in.end(), audio.begin(), audio.end(), std::back_inserter(mixed),
             [](const auto& x, const auto& y) { return x.dts < y.dts; });
  TranscodePipeline p({spec("a", 64, 36), spec("b", 32, 18)}, 1);
  std::vector<std::vector<core::MediaPacket>> per(2);
  std::vector<TranscodePipeline::Output> got;
  for (const auto& m : mixed) {
    got.clear();
    REQUIRE(p.push(m, got));
    for (auto& o : got) per[o.rendition].push_back(o.pkt);
  }
  for (const auto& v : per) {
    size_t n_audio = 0;
    int64_t last_video = INT64_MIN;
    for (const auto& m : v) {
      if (m.is_video() && !m.is_config()) last_video = m.dts;
      if (m.is_audio()) {
        ++n_audio;
        CHECK(m.dts <= std::max<int64_t>(last_video, 0) + 1);  // held until the video caught up
      }
    }
    CHECK(n_audio > 10);
  }
}

TEST_CASE("an undecodable source fails with the reason") {
  SECTION("a config that is not an avcC") {
    core::MediaPacket bad;
    bad.track = core::TrackType::kVideo;
    bad.codec = core::Codec::kH264;
    bad.flags = core::packet_flags::kConfig | core::packet_flags::kKeyframe;
    const uint8_t body[] = {0x17, 0, 0, 0, 0, 1, 0x64, 0, 0xff, 0xff, 0xff};
    bad.body = core::Slice::copy_of(core::ByteView(body, sizeof(body)));
    bad.payload_offset = 5;
    TranscodePipeline p({spec("a", 64, 36)}, 1);
    std::vector<TranscodePipeline::Output> out;
    auto st = p.push(bad, out);
    CHECK_FALSE(st);
    CHECK_THAT(st.message(), Catch::Contains("source video config"));
  }
  SECTION("frames that do not decode") {
    auto in = source(128, 72, 2);
    TranscodePipeline p({spec("a", 64, 36)}, 1);
    std::vector<TranscodePipeline::Output> out;
    REQUIRE(in[0].is_config());
    REQUIRE(p.push(in[0], out));
    core::MediaPacket junk = in[1];
    junk.flags = core::packet_flags::kKeyframe;
    const uint8_t body[] = {0x17, 1, 0, 0, 0, 0, 0, 0, 6, 0x65, 0xff, 0xff, 0xff, 0xff, 0xff};
    junk.body = core::Slice::copy_of(core::ByteView(body, sizeof(body)));
    core::Status st = core::Status::ok();
    for (int i = 0; i < 400 && st; ++i) {
      junk.dts = junk.pts = i * 40;
      st = p.push(junk, out);
    }
    CHECK_FALSE(st);
    CHECK_THAT(st.message(), Catch::Contains("could not be"));
  }
}

TEST_CASE("audio is decoded once and encoded per rendition; copy renditions keep the source's") {
  auto in = source(128, 72, 48);
  test::AudioOptions ao;
  ao.frames = 40;
  ao.sample_rate = 44100;
  auto a = test::encode_audio("aac", ao);
  auto audio = test::to_media(*a.par, a.time_base, a.packets);
  std::vector<core::MediaPacket> mixed;
  std::merge(in.begin(), in.end(), audio.begin(), audio.end(), std::back_inserter(mixed),
             [](const auto& x, const auto& y) { return x.dts < y.dts; });
  auto copy = spec("copy", 64, 36);
  auto aac = spec("aac", 64, 36);
  aac.cfg.audio = "aac";
  aac.cfg.audio_bitrate_kbps = 48;
  auto opus = spec("opus", 32, 18);
  opus.cfg.audio = "opus";
  opus.cfg.audio_bitrate_kbps = 32;
  TranscodePipeline p({copy, aac, opus}, 1);
  std::vector<std::vector<core::MediaPacket>> per(3);
  std::vector<TranscodePipeline::Output> got;
  for (const auto& m : mixed) {
    got.clear();
    REQUIRE(p.push(m, got));
    for (auto& o : got) per[o.rendition].push_back(o.pkt);
  }
  CHECK(p.stats().audio_frames_in == audio.size() - 1);  // all but the config, decoded once for both
  const core::Codec want[] = {core::Codec::kAAC, core::Codec::kAAC, core::Codec::kOpus};
  for (size_t r = 0; r < 3; ++r) {
    INFO("rendition " << r);
    std::vector<core::MediaPacket> configs, frames;
    int64_t last_video = INT64_MIN;
    for (const auto& m : per[r]) {
      if (m.is_video() && !m.is_config()) last_video = m.dts;
      if (!m.is_audio()) continue;
      CHECK(m.codec == want[r]);
      (m.is_config() ? configs : frames).push_back(m);
      if (!m.is_config()) CHECK(m.dts <= std::max<int64_t>(last_video, 0) + 1);  // interleaved
    }
    REQUIRE(configs.size() == 1);
    CHECK(frames.size() > 10);
    CHECK(std::is_sorted(frames.begin(), frames.end(), [](auto& x, auto& y) { return x.dts < y.dts; }));
    auto par = protocol::av::make_codec_parameters();
    REQUIRE(protocol::av::codec_parameters_from_config(configs[0], par.get()));
    CHECK(par->sample_rate == (r == 2 ? 48000 : 44100));
    if (r == 0) {  // the source's own packets
      CHECK(frames.size() == audio.size() - 1);
      CHECK(frames[0].body.view().data() == audio[1].body.view().data());
    }
  }
}

TEST_CASE("an undecodable audio source fails the job when a rendition encodes audio") {
  auto in = source(128, 72, 2);
  auto aac = spec("aac", 64, 36);
  aac.cfg.audio = "aac";
  TranscodePipeline p({aac}, 1);
  std::vector<TranscodePipeline::Output> out;
  REQUIRE(p.push(in[0], out));
  test::AudioOptions ao;
  ao.frames = 2;
  auto a = test::encode_audio("aac", ao);
  auto audio = test::to_media(*a.par, a.time_base, a.packets);
  REQUIRE(audio[0].is_config());
  REQUIRE(p.push(audio[0], out));
  core::MediaPacket junk = audio[1];
  const uint8_t body[] = {0xaf, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  junk.body = core::Slice::copy_of(core::ByteView(body, sizeof(body)));
  core::Status st = core::Status::ok();
  int i = 0;
  for (; i < 200 && st; ++i) {
    junk.dts = junk.pts = i * 21;
    st = p.push(junk, out);
  }
  CHECK_FALSE(st);
  CHECK(i == TranscodePipeline::kMaxDecodeErrors);
  CHECK_THAT(st.message(), Catch::Contains("audio packets in a row could not be decoded"));
}

TEST_CASE("a source sample-rate change reopens the audio decoder; the rendition's encoder and config go on") {
  auto video = source(128, 72, 96);
  test::AudioOptions first;
  first.frames = 40;
  first.sample_rate = 44100;
  auto a1 = test::encode_audio("aac", first);
  auto audio = test::to_media(*a1.par, a1.time_base, a1.packets);
  test::AudioOptions second;
  second.frames = 40;
  second.sample_rate = 48000;
  auto a2 = test::encode_audio("aac", second);
  auto more = test::to_media(*a2.par, a2.time_base, a2.packets);
  const int64_t next = audio.back().dts + 23;
  for (auto& m : more) m.dts = m.pts = m.dts + next;
  audio.insert(audio.end(), more.begin(), more.end());
  std::vector<core::MediaPacket> mixed;
  std::merge(video.begin(), video.end(), audio.begin(), audio.end(), std::back_inserter(mixed),
             [](const auto& x, const auto& y) { return x.dts < y.dts; });
  auto aac = spec("aac", 64, 36);
  aac.cfg.audio = "aac";
  aac.cfg.audio_bitrate_kbps = 48;
  TranscodePipeline p({aac}, 1);
  std::vector<core::MediaPacket> got_audio;
  std::vector<TranscodePipeline::Output> got;
  for (const auto& m : mixed) {
    got.clear();
    REQUIRE(p.push(m, got));
    for (auto& o : got)
      if (o.pkt.is_audio()) got_audio.push_back(o.pkt);
  }
  CHECK(p.stats().audio_reopens == 1);
  CHECK(p.stats().audio_frames_in == audio.size() - 2);
  REQUIRE_FALSE(got_audio.empty());
  CHECK(got_audio.front().is_config());
  CHECK(std::count_if(got_audio.begin(), got_audio.end(), [](auto& m) { return m.is_config(); }) == 1);
  // Continuous 44.1 kHz AAC frames (23.2 ms) across the change, never back in time.
  for (size_t i = 2; i < got_audio.size(); ++i) {
    INFO("frame " << i);
    CHECK(got_audio[i].dts - got_audio[i - 1].dts == Approx(23.2).margin(1));
  }
  CHECK(got_audio.back().dts > next + 500);
}

TEST_CASE("a watermark change rebuilds the graph at the next frame; the encoders stay open") {
  const auto in = source(128, 72, 48);
  TranscodePipeline p({spec("full", 0, 0), spec("half", 64, 0)}, 1);
  auto slot = std::make_shared<transcode::WatermarkSlot>(
      transcode::WatermarkSlot::State{std::make_shared<const transcode::WatermarkSpec>(), "config"});
  p.set_watermark(slot, "live/s");
  const size_t half = in.size() / 2;
  auto first = run(p, std::vector<core::MediaPacket>(in.begin(), in.begin() + half), 2);
  CHECK(p.stats().graph_builds == 1);
  transcode::WatermarkSpec wm;
  transcode::WatermarkText t;
  t.text = "%H:%M:%S";
  t.strftime = true;
  t.font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  t.font_size = 12;
  wm.text = t;
  slot->set({std::make_shared<const transcode::WatermarkSpec>(wm), "api"});
  auto second = run(p, std::vector<core::MediaPacket>(in.begin() + half, in.end()), 2);
  CHECK(p.stats().graph_builds == 2);
  CHECK(p.stats().watermark_errors == 0);
  // A watermark that cannot be drawn: logged, the graph is built without it.
  wm.text->font = "/nonexistent/font.ttf";
  slot->set({std::make_shared<const transcode::WatermarkSpec>(wm), "api"});
  auto third = run(p, source(128, 72, 24, 5000), 2);
  CHECK(p.stats().graph_builds == 3);
  CHECK(p.stats().watermark_errors == 1);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(first[i].config.size() == 1);  // opened once: no new config after the changes
    CHECK(second[i].config.empty());
    CHECK(third[i].config.empty());
    CHECK(third[i].frames.size() > 0);
  }
  CHECK(size_of(first[0].config[0]) == std::pair{128, 72});  // the source's size (no width, no height)
}
