// Codec ids, config records from every form FFmpeg hands out (Annex B
// extradata, an avcC/hvcC written by FFmpeg's MP4 muxer, no extradata at all,
// ADTS), and refusals of what is malformed, on real encoder output.
#include <catch2/catch.hpp>

extern "C" {
#include <libavutil/mem.h>
}

#include <cstdlib>
#include <cstring>

#include "av_test_support.h"
#include "protocol/av/av_to_media.h"
#include "protocol/av/codec_parameters.h"
#include "protocol/av/media_to_av.h"
#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"
#include "protocol/opus_head.h"

using namespace weir;
using namespace weir::protocol;
using namespace weir::protocol::av;
using core::Codec;
using core::MediaPacket;
using test::Encoded;

namespace {

void set_extradata(AVCodecParameters* par, const std::vector<uint8_t>& v) {
  av_freep(&par->extradata);
  par->extradata_size = 0;
  if (v.empty()) return;
  par->extradata = static_cast<uint8_t*>(av_mallocz(v.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  std::memcpy(par->extradata, v.data(), v.size());
  par->extradata_size = int(v.size());
}

// An encoder's output muxed by libavformat into MP4 and read back: the
// extradata is then the avcC/hvcC FFmpeg's own writer made, the packets are
// length-prefixed.
test::Stream through_mp4(const Encoded& e) {
  test::Stream in;
  in.par = test::clone(e.par.get());
  in.time_base = e.time_base;
  in.packets = test::clone_all(e.packets);
  auto back = test::demux_mp4(test::mux_mp4({&in}));
  REQUIRE(back.size() == 1);
  return std::move(back[0]);
}

}  // namespace

TEST_CASE("protocol_av: codec ids both ways; others are refused by name") {
  const std::pair<Codec, AVCodecID> pairs[] = {
      {Codec::kH264, AV_CODEC_ID_H264}, {Codec::kHEVC, AV_CODEC_ID_HEVC}, {Codec::kAV1, AV_CODEC_ID_AV1},
      {Codec::kVP9, AV_CODEC_ID_VP9},   {Codec::kAAC, AV_CODEC_ID_AAC},   {Codec::kMP3, AV_CODEC_ID_MP3},
      {Codec::kOpus, AV_CODEC_ID_OPUS}};
  for (auto [weir_codec, id] : pairs) {
    auto to = to_av_codec_id(weir_codec);
    REQUIRE(to);
    CHECK(to.value() == id);
    auto from = from_av_codec_id(id);
    REQUIRE(from);
    CHECK(from.value() == weir_codec);
  }
  CHECK(from_av_codec_id(AV_CODEC_ID_MP2).value() == Codec::kMP3);
  auto flac = to_av_codec_id(Codec::kFLAC);
  REQUIRE_FALSE(flac);
  CHECK_THAT(flac.error(), Catch::Contains("flac"));
  auto vp8 = from_av_codec_id(AV_CODEC_ID_VP8);
  REQUIRE_FALSE(vp8);
  CHECK_THAT(vp8.error(), Catch::Contains("vp8"));
  auto vp8_par = make_codec_parameters();
  vp8_par->codec_type = AVMEDIA_TYPE_VIDEO;
  vp8_par->codec_id = AV_CODEC_ID_VP8;
  auto vp8_conv = AvToMedia::create(*vp8_par, AVRational{1, 1000});
  REQUIRE_FALSE(vp8_conv);
  CHECK_THAT(vp8_conv.error(), Catch::Contains("vp8"));
}

TEST_CASE("protocol_av: libx264's Annex B extradata and FFmpeg's avcC give the same config packet") {
  Encoded e = test::encode_video("libx264", test::VideoOptions{});
  REQUIRE(e.par->extradata_size > 4);
  CHECK(e.par->extradata[0] == 0);  // Annex B
  test::Stream mp4 = through_mp4(e);
  REQUIRE(mp4.par->extradata_size > 4);
  CHECK(mp4.par->extradata[0] == 1);  // avcC

  auto a = config_from_codec_parameters(*e.par);
  auto b = config_from_codec_parameters(*mp4.par);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->has_value());
  REQUIRE(b->has_value());
  CHECK(test::bytes((*a)->body.view()) == test::bytes((*b)->body.view()));

  // And the frames agree too: Annex B input and length-prefixed input make
  // the same payloads, timing and key frames.
  auto from_annexb = test::to_media(*e.par, e.time_base, e.packets);
  auto from_avcc = test::to_media(*mp4.par, mp4.time_base, mp4.packets);
  REQUIRE(from_annexb.size() == from_avcc.size());
  for (size_t i = 0; i < from_annexb.size(); ++i) {
    INFO("packet " << i);
    const MediaPacket& a = from_annexb[i];
    const MediaPacket& b = from_avcc[i];
    CHECK(test::bytes(a.payload()) == test::bytes(b.payload()));
    // The MP4 muxer shifts the timeline to start at 0; the spacing stays
    // (each side rounded to ms on its own: within 1 ms).
    CHECK(std::abs((b.dts - a.dts) - (from_avcc[0].dts - from_annexb[0].dts)) <= 1);
    CHECK(std::abs((a.pts - a.dts) - (b.pts - b.dts)) <= 1);
    CHECK(a.is_keyframe() == b.is_keyframe());
    CHECK(a.payload_offset == b.payload_offset);
  }
}

TEST_CASE("protocol_av: libx265's Annex B extradata and FFmpeg's hvcC give the same config packet") {
  test::VideoOptions o;
  o.frames = 6;
  o.options = {{"preset", "ultrafast"}, {"x265-params", "log-level=error"}};
  Encoded e = test::encode_video("libx265", o);
  test::Stream mp4 = through_mp4(e);
  CHECK(mp4.par->extradata[0] == 1);  // hvcC
  auto a = config_from_codec_parameters(*e.par);
  auto b = config_from_codec_parameters(*mp4.par);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(test::bytes((*a)->body.view()) == test::bytes((*b)->body.view()));
  // Enhanced RTMP header, hvc1 SequenceStart.
  auto info = parse_video_tag((*a)->body.view());
  REQUIRE(info);
  CHECK(info->enhanced);
  CHECK(info->fourcc == kFourccHvc1);
  CHECK(info->is_config);
}

TEST_CASE("protocol_av: without extradata the config comes from the first key frame") {
  test::VideoOptions o;
  Encoded global = test::encode_video("libx264", o);
  o.global_header = false;
  Encoded inband = test::encode_video("libx264", o);
  CHECK(inband.par->extradata_size == 0);
  AvToMedia::Stats stats;
  auto media = test::to_media(*inband.par, inband.time_base, inband.packets, &stats);
  CHECK(stats.configs == 1);
  CHECK(stats.dropped_before_config == 0);
  REQUIRE(media.front().is_config());
  auto want = config_from_codec_parameters(*global.par);
  REQUIRE(want);
  CHECK(test::bytes(media.front().body.view()) == test::bytes((*want)->body.view()));

  SECTION("frames before the first key frame are dropped and counted") {
    auto tail = test::clone_all(inband.packets);
    tail.erase(tail.begin());  // the key frame with SPS/PPS
    auto conv = AvToMedia::create(*inband.par, inband.time_base);
    REQUIRE(conv);
    std::vector<MediaPacket> out;
    for (const PacketPtr& p : tail) REQUIRE(conv->convert(*p, out));
    CHECK(conv->stats().dropped_before_config > 0);
    CHECK(conv->stats().dropped_before_config + conv->stats().frames == tail.size());
    if (!out.empty()) CHECK(out.front().is_config());
  }
}

TEST_CASE("protocol_av: AAC in ADTS without extradata learns its config from the header") {
  Encoded e = test::encode_audio("aac", test::AudioOptions{44100, 1, 10});
  auto asc = parse_aac_audio_specific_config(core::ByteView(e.par->extradata, size_t(e.par->extradata_size)));
  REQUIRE(asc);
  std::vector<PacketPtr> adts;
  for (const PacketPtr& p : e.packets) {
    auto h = build_adts_header(asc.value(), size_t(p->size));
    REQUIRE(h);
    PacketPtr q = make_packet();
    REQUIRE(av_new_packet(q.get(), p->size + 7) == 0);
    std::memcpy(q->data, h->data(), 7);
    std::memcpy(q->data + 7, p->data, size_t(p->size));
    q->pts = p->pts;
    q->dts = p->dts;
    q->flags = p->flags;
    adts.push_back(std::move(q));
  }
  auto par = test::clone(e.par.get());
  set_extradata(par.get(), {});
  auto media = test::to_media(*par, e.time_base, adts);
  REQUIRE(media.front().is_config());
  auto got = parse_aac_audio_specific_config(media.front().payload());
  REQUIRE(got);
  CHECK(got->object_type == asc->object_type);
  CHECK(got->sampling_frequency == 44100);
  CHECK(got->channel_configuration == 1);
  auto audio = parse_audio_tag(media.front().body.view());
  REQUIRE(audio);
  CHECK(audio->sound_channels == 1);  // the FLV mono bit follows the ASC
  // The raw frames are the encoder's (ADTS header gone).
  REQUIRE(media.size() == e.packets.size() + 1);
  CHECK(test::bytes(media[1].payload()) == test::bytes(core::ByteView(e.packets[0]->data, size_t(e.packets[0]->size))));
}

TEST_CASE("protocol_av: Opus without extradata gets an OpusHead from its parameters") {
  Encoded e = test::encode_audio("libopus", test::AudioOptions{48000, 2, 3});
  auto par = test::clone(e.par.get());
  set_extradata(par.get(), {});
  auto cfg = config_from_codec_parameters(*par);
  REQUIRE(cfg);
  REQUIRE(cfg->has_value());
  auto head = parse_opus_head((*cfg)->payload());
  REQUIRE(head);
  CHECK(head->channels == 2);
  CHECK(head->pre_skip == e.par->initial_padding);
  auto info = parse_audio_tag((*cfg)->body.view());
  REQUIRE(info);
  CHECK(info->enhanced);
  CHECK(info->fourcc == kFourccOpus);
}

TEST_CASE("protocol_av: malformed configs and packets are refused with a message") {
  auto par = make_codec_parameters();
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = AV_CODEC_ID_H264;

  set_extradata(par.get(), {0x01, 0x64, 0x00});  // an avcC cut short
  auto r = config_from_codec_parameters(*par);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("avcC"));
  auto conv = AvToMedia::create(*par, AVRational{1, 30});
  REQUIRE_FALSE(conv);
  CHECK_THAT(conv.error(), Catch::Contains("avcC"));

  set_extradata(par.get(), {0, 0, 0, 1, 0x68, 0xEE, 0x3C, 0x80});  // Annex B with a PPS but no SPS
  r = config_from_codec_parameters(*par);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("0 SPS"));

  set_extradata(par.get(), {});
  r = config_from_codec_parameters(*par);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("no extradata"));
  CHECK_FALSE(AvToMedia::create(*par, AVRational{0, 1}));

  par->codec_type = AVMEDIA_TYPE_AUDIO;  // H.264 on an audio stream
  r = config_from_codec_parameters(*par);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("media type"));

  // A config MediaPacket whose avcC is truncated.
  const uint8_t bad_avcc[] = {0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x40, 0x67};
  auto pkt = make_media_packet(kFlvTagVideo, 0, build_video_tag_avc(true, kAvcPacketSequenceHeader, 0, bad_avcc));
  REQUIRE(pkt);
  auto out = make_codec_parameters();
  core::Status s = codec_parameters_from_config(pkt.value(), out.get());
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("avcC"));
  CHECK(out->extradata == nullptr);  // nothing half-filled
  auto m = MediaToAv::create(pkt.value(), MediaToAvOptions{});
  REQUIRE_FALSE(m);
  CHECK_THAT(m.error(), Catch::Contains("avcC"));

  // An AAC record that is not an AudioSpecificConfig.
  const uint8_t bad_asc[] = {0xF8};
  auto aac = make_media_packet(kFlvTagAudio, 0, build_audio_tag_aac(kAacPacketSequenceHeader, bad_asc));
  REQUIRE(aac);
  s = codec_parameters_from_config(aac.value(), out.get());
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("AudioSpecificConfig"));

  // A frame where a config is expected, and the other way round.
  test::VideoOptions few;
  few.frames = 3;
  Encoded e = test::encode_video("libx264", few);
  auto media = test::to_media(*e.par, e.time_base, e.packets);
  s = codec_parameters_from_config(media[1], out.get());
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("not a config packet"));
  auto to_av = MediaToAv::create(media[0], MediaToAvOptions{});
  REQUIRE(to_av);
  PacketPtr p = make_packet();
  s = to_av->convert(media[0], p.get());
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("set_config"));

  // A frame whose NAL length runs past its end.
  MediaPacket cut = media[1];
  cut.body = cut.body.sub(0, cut.body.size() - 3);
  s = to_av->convert(cut, p.get());
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("exceeds"));

  // An AVPacket that is not Annex B on an Annex B stream, and an empty one.
  auto conv2 = AvToMedia::create(*e.par, e.time_base);
  REQUIRE(conv2);
  std::vector<MediaPacket> sink;
  PacketPtr junk = make_packet();
  REQUIRE(av_new_packet(junk.get(), 8) == 0);
  std::memset(junk->data, 0x55, 8);
  junk->pts = junk->dts = 0;
  s = conv2->convert(*junk, sink);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("start code"));
  PacketPtr empty = make_packet();
  s = conv2->convert(*empty, sink);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("empty"));
  CHECK(sink.empty());
}

TEST_CASE("protocol_av: a mid-stream SPS change emits a new config that decoders follow") {
  // Two encoder runs without global headers (SPS/PPS in-band at key frames),
  // back to back: 128x72 then 64x64, as a publisher that changes resolution.
  test::VideoOptions a;
  a.frames = 6;
  a.global_header = false;
  a.max_b_frames = 0;
  test::VideoOptions b = a;
  b.width = 64;
  b.height = 64;
  Encoded first = test::encode_video("libx264", a);
  Encoded second = test::encode_video("libx264", b);
  std::vector<PacketPtr> joined = test::clone_all(first.packets);
  for (PacketPtr& p : test::clone_all(second.packets)) {
    p->pts += a.frames;
    p->dts += a.frames;
    joined.push_back(std::move(p));
  }
  AvToMedia::Stats stats;
  auto media = test::to_media(*first.par, first.time_base, joined, &stats);
  CHECK(stats.configs == 2);
  std::vector<const MediaPacket*> configs;
  for (const MediaPacket& m : media) {
    if (m.is_config()) configs.push_back(&m);
  }
  REQUIRE(configs.size() == 2);
  CHECK(configs[1]->dts == 200);  // at the frame that changed it (frame 6 at 30 fps)

  for (BitstreamForm form : {BitstreamForm::kLengthPrefixed, BitstreamForm::kAnnexB}) {
    INFO("form " << int(form));
    auto par = make_codec_parameters();
    REQUIRE(codec_parameters_from_config(media.front(), par.get(), form));
    CHECK(par->width == 128);
    auto conv = MediaToAv::create(media.front(), MediaToAvOptions{AVRational{1, 1000}, form, true});
    REQUIRE(conv);
    std::vector<PacketPtr> packets;
    for (const MediaPacket& m : media) {
      if (m.is_config()) {
        REQUIRE(conv->set_config(m));
        continue;
      }
      PacketPtr p = make_packet();
      REQUIRE(conv->convert(m, p.get()));
      packets.push_back(std::move(p));
    }
    auto frames = test::decode(par.get(), AVRational{1, 1000}, packets);
    REQUIRE(frames.size() == 12);
    for (size_t i = 0; i < frames.size(); ++i) {
      CHECK(frames[i].width == (i < 6 ? 128 : 64));
      CHECK(frames[i].height == (i < 6 ? 72 : 64));
    }
    auto later = make_codec_parameters();
    REQUIRE(codec_parameters_from_config(*configs[1], later.get(), form));
    CHECK(later->width == 64);
    CHECK(later->height == 64);
  }
}
