// AudioEncoder with Debian's real FFmpeg "aac" and libopus encoders: sines
// in several sample formats, rates and layouts go in; the packets that come
// out are decoded back with FFmpeg's decoders (through the config packet,
// as a player would) and measured: count, timestamps, duration, bitrate,
// pitch.
#include <catch2/catch.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <cmath>
#include <vector>

#include "../protocol_av/av_test_support.h"
#include "core/media_packet.h"
#include "protocol/av/codec_parameters.h"
#include "protocol/av/media_to_av.h"
#include "transcode/audio_encoder.h"

using namespace weir;
using transcode::AudioEncoder;
using transcode::AudioEncoderSpec;

namespace {

std::unique_ptr<AudioEncoder> open(const char* codec, int kbps, int rate = 48000, int channels = 2) {
  auto e = AudioEncoder::open(AudioEncoderSpec{codec, kbps, rate, channels});
  INFO((e ? std::string() : e.error()));
  REQUIRE(e);
  return std::move(*e);
}

// Feeds `seconds` of a 440 Hz sine in frames of `frame` samples, pts in ms
// from `start_ms`; flushes when asked.
void feed(AudioEncoder& e, std::vector<core::MediaPacket>& out, AVSampleFormat fmt, int rate, int channels,
          double seconds, int frame, int64_t start_ms, bool flush = true, int64_t* first_sample = nullptr) {
  int64_t s0 = first_sample ? *first_sample : 0;
  const int64_t total = int64_t(seconds * rate);
  for (int64_t s = 0; s < total; s += frame) {
    const int n = int(std::min<int64_t>(frame, total - s));
    auto f = test::sine_frame(fmt, rate, channels, s0 + s, n, 440, start_ms + (s * 1000) / rate);
    REQUIRE(e.push(f.get(), out));
  }
  if (first_sample) *first_sample = s0 + total;
  if (flush) REQUIRE(e.push(nullptr, out));
}

struct Decoded {
  int sample_rate = 0;
  int channels = 0;
  std::vector<float> left;  // channel 0
};

// Decodes the encoder's output the way a player does: parameters from the
// config packet, packets through MediaToAv.
Decoded decode(const core::MediaPacket& config, const std::vector<core::MediaPacket>& pkts) {
  auto par = protocol::av::make_codec_parameters();
  REQUIRE(protocol::av::codec_parameters_from_config(config, par.get()));
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  REQUIRE(codec);
  protocol::av::CodecContextPtr dec(avcodec_alloc_context3(codec));
  REQUIRE(avcodec_parameters_to_context(dec.get(), par.get()) >= 0);
  dec->pkt_timebase = AVRational{1, 1000};
  REQUIRE(avcodec_open2(dec.get(), codec, nullptr) == 0);
  auto conv = protocol::av::MediaToAv::create(config, {});
  REQUIRE(conv);
  Decoded d;
  auto p = protocol::av::make_packet();
  auto f = protocol::av::make_frame();
  auto take = [&] {
    while (avcodec_receive_frame(dec.get(), f.get()) == 0) {
      REQUIRE(f->format == AV_SAMPLE_FMT_FLTP);
      d.sample_rate = f->sample_rate;
      d.channels = f->ch_layout.nb_channels;
      const float* l = reinterpret_cast<const float*>(f->extended_data[0]);
      d.left.insert(d.left.end(), l, l + f->nb_samples);
      av_frame_unref(f.get());
    }
  };
  for (const auto& m : pkts) {
    REQUIRE(conv->convert(m, p.get()));
    REQUIRE(avcodec_send_packet(dec.get(), p.get()) == 0);
    av_packet_unref(p.get());
    take();
  }
  REQUIRE(avcodec_send_packet(dec.get(), nullptr) == 0);
  take();
  return d;
}

// The pitch of samples [from, to) by counting rising zero crossings.
double pitch(const std::vector<float>& v, size_t from, size_t to, int rate) {
  REQUIRE(to <= v.size());
  int crossings = 0;
  for (size_t i = from + 1; i < to; ++i)
    if (v[i - 1] < 0 && v[i] >= 0) ++crossings;
  return crossings * double(rate) / double(to - from);
}

double peak(const std::vector<float>& v, size_t from, size_t to) {
  float m = 0;
  for (size_t i = from; i < to && i < v.size(); ++i) m = std::max(m, std::fabs(v[i]));
  return m;
}

size_t payload_bytes(const std::vector<core::MediaPacket>& v) {
  size_t n = 0;
  for (const auto& m : v) n += m.payload().size();
  return n;
}

void check_monotonic(const std::vector<core::MediaPacket>& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    INFO("packet " << i);
    CHECK(v[i].dts > v[i - 1].dts);
    CHECK(v[i].pts == v[i].dts);
  }
}

}  // namespace

TEST_CASE("AAC: 44.1 kHz mono s16 in odd-sized frames -> 48 kHz stereo AAC") {
  auto e = open("aac", 64);
  CHECK(e->frame_size() == 1024);
  const auto cfg = e->config();
  CHECK(cfg.is_config());
  CHECK(cfg.is_audio());
  CHECK(cfg.codec == core::Codec::kAAC);
  auto par = protocol::av::make_codec_parameters();
  REQUIRE(protocol::av::codec_parameters_from_config(cfg, par.get()));
  CHECK(par->sample_rate == 48000);
  CHECK(par->ch_layout.nb_channels == 2);

  std::vector<core::MediaPacket> out;
  feed(*e, out, AV_SAMPLE_FMT_S16, 44100, 1, 2.0, 1000, 1000);
  // 2 s at 48 kHz = 93.75 frames of 1024, plus the encoder's priming frame.
  CHECK(out.size() >= 94);
  CHECK(out.size() <= 96);
  for (const auto& m : out) {
    CHECK(m.is_audio());
    CHECK_FALSE(m.is_config());
    CHECK(m.codec == core::Codec::kAAC);
  }
  check_monotonic(out);
  // Priming goes before the input's first sample; the last frame ends at the input's end.
  CHECK(out.front().pts == Approx(1000 - 21).margin(2));
  CHECK(out.back().pts + 21 == Approx(3000).margin(25));
  for (size_t i = 1; i < out.size(); ++i) CHECK(out[i].dts - out[i - 1].dts == Approx(21.33).margin(1));
  // Bitrate near the setting.
  const double kbps = payload_bytes(out) * 8.0 / 2.0 / 1000.0;
  CHECK(kbps == Approx(64).epsilon(0.25));
  CHECK(e->stats().resamplers == 1);
  CHECK(e->stats().packets_out == out.size());

  const Decoded d = decode(cfg, out);
  CHECK(d.sample_rate == 48000);
  CHECK(d.channels == 2);
  CHECK(d.left.size() >= 96000);
  CHECK(pitch(d.left, 10000, 90000, 48000) == Approx(440).margin(3));
  // Mono to stereo puts the centre on both sides at -3 dB (libswresample's default, as ffmpeg -ac 2).
  CHECK(peak(d.left, 10000, 90000) == Approx(0.5 * M_SQRT1_2).margin(0.07));
}

TEST_CASE("Opus: 48 kHz planar float in AAC-sized frames -> 20 ms Opus packets") {
  auto e = open("opus", 96);
  CHECK(e->frame_size() == 960);
  const auto cfg = e->config();
  CHECK(cfg.codec == core::Codec::kOpus);
  auto par = protocol::av::make_codec_parameters();
  REQUIRE(protocol::av::codec_parameters_from_config(cfg, par.get()));
  CHECK(par->ch_layout.nb_channels == 2);
  CHECK(par->sample_rate == 48000);

  std::vector<core::MediaPacket> out;
  feed(*e, out, AV_SAMPLE_FMT_FLTP, 48000, 2, 2.0, 1024, 500);
  CHECK(out.size() >= 100);
  CHECK(out.size() <= 102);
  check_monotonic(out);
  for (size_t i = 1; i < out.size(); ++i) CHECK(out[i].dts - out[i - 1].dts == Approx(20).margin(1));
  CHECK(out.front().pts <= 500);
  CHECK(out.front().pts >= 490);  // pre-skip: 312 samples, 6.5 ms
  const double kbps = payload_bytes(out) * 8.0 / 2.0 / 1000.0;
  CHECK(kbps == Approx(96).epsilon(0.3));

  const Decoded d = decode(cfg, out);
  CHECK(d.sample_rate == 48000);
  CHECK(d.left.size() >= 96000 - 960);
  CHECK(pitch(d.left, 10000, 90000, 48000) == Approx(440).margin(3));
}

TEST_CASE("AAC keeps a 44.1 kHz rate and mono when asked") {
  auto e = open("aac", 48, 44100, 1);
  auto par = protocol::av::make_codec_parameters();
  REQUIRE(protocol::av::codec_parameters_from_config(e->config(), par.get()));
  CHECK(par->sample_rate == 44100);
  CHECK(par->ch_layout.nb_channels == 1);
  std::vector<core::MediaPacket> out;
  feed(*e, out, AV_SAMPLE_FMT_S32, 48000, 1, 1.0, 960, 0);
  const Decoded d = decode(e->config(), out);
  CHECK(d.channels == 1);
  CHECK(d.left.size() >= 44100);
  CHECK(pitch(d.left, 5000, 40000, 44100) == Approx(440).margin(3));
}

TEST_CASE("a stream that starts at 0 never gets a negative timestamp") {
  for (const char* c : {"aac", "opus"}) {
    INFO(c);
    auto e = open(c, 64);
    std::vector<core::MediaPacket> out;
    feed(*e, out, AV_SAMPLE_FMT_FLTP, 48000, 2, 0.5, 1024, 0);
    REQUIRE_FALSE(out.empty());
    CHECK(out.front().pts >= 0);
    check_monotonic(out);
  }
}

TEST_CASE("an input format change mid-stream rebuilds the resampler; the output stays continuous") {
  auto e = open("aac", 96);
  std::vector<core::MediaPacket> out;
  int64_t s44 = 0, s48 = 0;
  feed(*e, out, AV_SAMPLE_FMT_S16, 44100, 1, 1.0, 1024, 0, false, &s44);
  // The source changes to 48 kHz stereo planar float where the first ended.
  s48 = 48000;
  feed(*e, out, AV_SAMPLE_FMT_FLTP, 48000, 2, 1.0, 1024, 1000, true, &s48);
  CHECK(e->stats().resamplers == 2);
  CHECK(e->stats().gaps == 0);
  check_monotonic(out);
  for (size_t i = 1; i < out.size(); ++i) CHECK(out[i].dts - out[i - 1].dts == Approx(21.33).margin(1));
  const Decoded d = decode(e->config(), out);
  CHECK(d.left.size() >= 96000);
  CHECK(pitch(d.left, 50000, 90000, 48000) == Approx(440).margin(3));
}

TEST_CASE("a gap in the input moves the output's timeline forward, never back") {
  auto e = open("aac", 64);
  std::vector<core::MediaPacket> out;
  int64_t s = 0;
  feed(*e, out, AV_SAMPLE_FMT_FLTP, 48000, 2, 1.0, 1024, 0, false, &s);
  const size_t before = out.size();
  feed(*e, out, AV_SAMPLE_FMT_FLTP, 48000, 2, 1.0, 1024, 1500, false, &s);  // 500 ms lost
  // A source that goes back in time is taken as continuous.
  feed(*e, out, AV_SAMPLE_FMT_FLTP, 48000, 2, 0.5, 1024, 200, true, &s);
  CHECK(e->stats().gaps == 1);
  check_monotonic(out);
  int jumps = 0;
  for (size_t i = 1; i < out.size(); ++i) {
    const int64_t step = out[i].dts - out[i - 1].dts;
    if (step > 100) {
      ++jumps;
      CHECK(i >= before - 2);
      CHECK(step == Approx(521).margin(25));
    } else {
      CHECK(step == Approx(21.33).margin(1));
    }
  }
  CHECK(jumps == 1);
  CHECK(out.back().pts + 21 == Approx(3000).margin(30));  // 2.5 s of audio after a 500 ms gap
}

TEST_CASE("frames without pts continue the timeline") {
  auto e = open("opus", 64);
  std::vector<core::MediaPacket> out;
  for (int k = 0; k < 50; ++k) {
    auto f = test::sine_frame(AV_SAMPLE_FMT_FLT, 48000, 2, k * 960, 960, 440, k == 0 ? 100 : AV_NOPTS_VALUE);
    REQUIRE(e->push(f.get(), out));
  }
  REQUIRE(e->push(nullptr, out));
  check_monotonic(out);
  // 1 s from 100 ms; the flush adds the frame that covers the pre-skip.
  CHECK(out.back().pts + 20 == Approx(100 + 1000).margin(25));
}

TEST_CASE("settings the encoders cannot take are refused, naming the field") {
  auto msg = [](AudioEncoderSpec s) {
    auto e = AudioEncoder::open(s);
    REQUIRE_FALSE(e);
    return e.error();
  };
  CHECK_THAT(msg({"mp3", 128, 48000, 2}), Catch::Contains("codec") && Catch::Contains("mp3"));
  CHECK_THAT(msg({"aac", 2, 48000, 2}), Catch::Contains("bitrate_kbps"));
  CHECK_THAT(msg({"aac", 100000, 48000, 2}), Catch::Contains("bitrate_kbps"));
  CHECK_THAT(msg({"opus", 64, 44100, 2}), Catch::Contains("sample_rate"));
  CHECK_THAT(msg({"aac", 64, 12345, 2}), Catch::Contains("sample_rate"));
  CHECK_THAT(msg({"aac", 64, 48000, 6}), Catch::Contains("channels"));
  CHECK_THAT(msg({"opus", 64, 48000, 0}), Catch::Contains("channels"));
}

TEST_CASE("bad frames and use after the flush fail with the reason") {
  auto e = open("aac", 64);
  std::vector<core::MediaPacket> out;
  auto f = test::sine_frame(AV_SAMPLE_FMT_FLTP, 48000, 2, 0, 1024, 440, 0);
  f->sample_rate = 0;
  auto st = e->push(f.get(), out);
  CHECK_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("Hz"));
  f->sample_rate = 48000;
  REQUIRE(e->push(f.get(), out));
  REQUIRE(e->push(nullptr, out));
  CHECK_FALSE(out.empty());
  st = e->push(f.get(), out);
  CHECK_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains("after the flush"));
}
