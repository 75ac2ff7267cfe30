// MixEngine (MixVideo + MixAudio) with Debian's real libx264, aac and
// libavfilter: synthetic H.264/AAC inputs go in, one program picture per
// tick and continuous AAC come out, whatever the inputs do.
#include <catch2/catch.hpp>

#include <algorithm>

#include "../protocol_av/av_test_support.h"
#include "core/media_packet.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/codec_parameters.h"
#include "transcode/mix_engine.h"

using namespace weir;
using transcode::MixEngine;
using transcode::MixSpec;

namespace {

MixSpec two_inputs() {
  MixSpec s;
  auto e = transcode::parse_mix_create(nlohmann::json::parse(R"({"app": "live", "name": "p", "width": 128,
      "height": 72, "fps": 25, "video": {"preset": "ultrafast", "bitrate_kbps": 200},
      "inputs": [{"stream": "live/a"}, {"stream": "live/b"}]})"),
                                       s);
  REQUIRE_FALSE(e);
  return s;
}

// An input of `w`x`h` H.264 (25 fps) with AAC at `rate` Hz, in dts order.
std::vector<core::MediaPacket> input(int w, int h, int frames, int rate) {
  test::VideoOptions o;
  o.width = w;
  o.height = h;
  o.frames = frames;
  o.options = {{"x264-params", "keyint=10:min-keyint=10:scenecut=0"}, {"preset", "ultrafast"}};
  auto v = test::encode_video("libx264", o);
  auto video = test::to_media(*v.par, v.time_base, v.packets);
  test::AudioOptions ao;
  ao.sample_rate = rate;
  ao.frames = frames * rate / 25 / 1024;
  auto a = test::encode_audio("aac", ao);
  auto audio = test::to_media(*a.par, a.time_base, a.packets);
  std::vector<core::MediaPacket> all;
  std::merge(video.begin(), video.end(), audio.begin(), audio.end(), std::back_inserter(all),
             [](const auto& x, const auto& y) { return x.dts < y.dts; });
  return all;
}

struct Program {
  std::vector<core::MediaPacket> video, audio, configs;
  void take(std::vector<core::MediaPacket>& out) {
    for (auto& p : out) (p.is_config() ? configs : p.is_video() ? video : audio).push_back(std::move(p));
    out.clear();
  }
};

}  // namespace

TEST_CASE("a mix makes one picture per tick and continuous audio, inputs live or not") {
  MixEngine e(two_inputs(), 1);
  Program prog;
  std::vector<core::MediaPacket> out;
  // Nothing live: background pictures and silence at the program's pace.
  for (int64_t n = 0; n < 10; ++n) {
    REQUIRE(e.tick(n, 1000 + n * 40, out));
    prog.take(out);
  }
  CHECK(e.video().stats().inputs_shown == 0);
  // Input a: another size and sample rate than the program's.
  for (const auto& p : input(96, 96, 50, 44100)) e.push("live/a", p, 1400);
  for (int64_t n = 10; n < 50; ++n) {
    REQUIRE(e.tick(n, 1400 + (n - 10) * 5, out));
    prog.take(out);
  }
  CHECK(e.video().stats().inputs_shown == 1);
  const uint64_t builds = e.video().stats().graph_builds;
  CHECK(builds == 2);  // background only, then with a
  // a goes stale (no picture for over a second): background again, one more build.
  REQUIRE(e.tick(50, 1400 + 2000, out));
  prog.take(out);
  CHECK(e.video().stats().inputs_shown == 0);
  CHECK(e.video().stats().graph_builds == builds + 1);

  // Configs: one of each, before any frame of their kind.
  REQUIRE(prog.configs.size() == 2);
  CHECK(std::count_if(prog.configs.begin(), prog.configs.end(), [](const auto& c) { return c.is_video(); }) == 1);
  auto par = protocol::av::make_codec_parameters();
  for (const auto& c : prog.configs)
    if (c.is_video()) {
      REQUIRE(protocol::av::codec_parameters_from_config(c, par.get()));
      CHECK((par->width == 128 && par->height == 72));
    }
  // Video: every tick's picture, pts = n * 40 (the encoder may hold the last one).
  REQUIRE(prog.video.size() >= 50);
  REQUIRE(prog.video.size() <= 51);
  for (size_t i = 0; i < prog.video.size(); ++i) CHECK(prog.video[i].pts == int64_t(i) * 40);
  CHECK(prog.video.front().is_keyframe());
  // Audio: AAC frames of 1024 samples at 48 kHz, continuous (21-22 ms apart),
  // covering the ticks less the encoder's delay.
  REQUIRE(prog.audio.size() >= 40);
  for (size_t i = 1; i < prog.audio.size(); ++i) {
    const int64_t d = prog.audio[i].dts - prog.audio[i - 1].dts;
    CHECK((d == 21 || d == 22));
  }
  CHECK(e.audio().stats().frames_out == prog.audio.size());
}

TEST_CASE("a spec change rebuilds the graph between two ticks; a lost input is dropped at once") {
  MixSpec s = two_inputs();
  MixEngine e(s, 1);
  std::vector<core::MediaPacket> out;
  for (const auto& p : input(128, 72, 25, 48000)) e.push("live/a", p, 0);
  for (const auto& p : input(64, 64, 25, 48000)) e.push("live/b", p, 0);
  REQUIRE(e.tick(0, 10, out));
  CHECK(e.video().stats().inputs_shown == 2);
  const uint64_t builds = e.video().stats().graph_builds;
  s.layout_template = "pip";
  e.set_spec(s);
  REQUIRE(e.tick(1, 50, out));
  CHECK(e.video().stats().graph_builds == builds + 1);
  CHECK(e.video().stats().inputs_shown == 2);
  REQUIRE(e.tick(2, 90, out));
  CHECK(e.video().stats().graph_builds == builds + 1);  // nothing changed: same graph
  e.lost("live/b");
  REQUIRE(e.tick(3, 130, out));
  CHECK(e.video().stats().inputs_shown == 1);
  // An input removed by a PATCH is forgotten; the one kept keeps its picture.
  s.inputs.erase(s.inputs.begin());
  s.layout_template = "grid";
  e.set_spec(s);
  REQUIRE(e.tick(4, 170, out));
  CHECK(e.video().stats().inputs_shown == 0);  // b was lost, a is no longer listed
  for (const auto& p : input(64, 64, 25, 48000)) e.push("live/b", p, 200);
  REQUIRE(e.tick(5, 210, out));
  CHECK(e.video().stats().inputs_shown == 1);
}

TEST_CASE("garbage on an input resets that input only") {
  MixEngine e(two_inputs(), 1);
  std::vector<core::MediaPacket> out;
  auto a = input(128, 72, 25, 48000);
  for (const auto& p : a) e.push("live/a", p, 0);
  REQUIRE(e.tick(0, 10, out));
  CHECK(e.video().stats().inputs_shown == 1);
  // b sends a's config, then frames whose payloads are garbage (their FLV
  // headers kept), many more than the decoder's error limit.
  int i = 0;
  for (const auto& p : a) {
    if (!p.is_video()) continue;
    if (p.is_config()) {
      e.push("live/b", p, 20);
      continue;
    }
    for (int k = 0; k < 20; ++k, ++i) {
      auto bytes = test::bytes(p.body.view());
      for (size_t j = p.payload_offset + 4; j < bytes.size(); ++j) bytes[j] = uint8_t(j * 31 + i);
      core::MediaPacket m = p;
      m.body = core::Slice::copy_of(core::ByteView(bytes.data(), bytes.size()));
      e.push("live/b", m, 20);
    }
  }
  CHECK(i >= 400);
  REQUIRE(e.tick(1, 50, out));
  CHECK(e.video().stats().inputs_shown == 1);
}

TEST_CASE("on_input_loss last_frame keeps a stale or ended input's picture until it is back") {
  MixSpec s = two_inputs();
  s.on_input_loss = transcode::MixInputLoss::kLastFrame;
  MixEngine e(s, 1);
  std::vector<core::MediaPacket> out;
  for (const auto& p : input(128, 72, 25, 48000)) e.push("live/a", p, 0);
  REQUIRE(e.tick(0, 10, out));
  CHECK(e.video().stats().inputs_shown == 1);
  for (int64_t n = 1; n <= 1500; ++n) {  // a minute without a picture
    REQUIRE(e.tick(n, n * 40, out));
    out.clear();
  }
  CHECK(e.video().stats().inputs_shown == 1);
  e.lost("live/a");  // its stream ended
  REQUIRE(e.tick(1501, 60040, out));
  CHECK(e.video().stats().inputs_shown == 1);
  // It is published again (at another size): its new pictures replace the old.
  const uint64_t builds = e.video().stats().graph_builds;
  for (const auto& p : input(64, 64, 25, 48000)) e.push("live/a", p, 60050);
  REQUIRE(e.tick(1502, 60080, out));
  CHECK(e.video().stats().inputs_shown == 1);
  CHECK(e.video().stats().graph_builds == builds + 1);
}
