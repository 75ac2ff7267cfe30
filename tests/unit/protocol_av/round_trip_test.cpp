// Real round trips through FFmpeg for every codec Weir carries: encode
// synthetic frames with Debian's libavcodec -> AvToMedia -> MediaPackets whose
// FLV bodies parse with flv_tag and whose config records parse with
// codec_config -> MediaToAv -> decode, compared frame by frame with a decode
// of the encoder's own packets (count, size, samples, timestamps within 1 ms).
// The same MediaPackets also go, zero-copy, through the MP4 muxer and back.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "av_test_support.h"
#include "protocol/av/av_to_media.h"
#include "protocol/av/codec_parameters.h"
#include "protocol/av/media_to_av.h"
#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"
#include "protocol/opus_head.h"
#include "protocol/vp9_config.h"

using namespace weir;
using namespace weir::protocol;
using namespace weir::protocol::av;
using core::Codec;
using core::MediaPacket;
using test::Encoded;

namespace {

std::vector<MediaPacket> to_media(const Encoded& e) {
  AvToMedia::Stats stats;
  auto out = test::to_media(*e.par, e.time_base, e.packets, &stats);
  CHECK(stats.dropped_before_config == 0);
  CHECK(stats.frames == e.packets.size());
  return out;
}

// Every body is a valid FLV tag body that says what the packet says, and the
// config record parses with codec_config (or its sibling parsers).
void check_flv(const std::vector<MediaPacket>& packets, Codec codec) {
  REQUIRE_FALSE(packets.empty());
  if (codec != Codec::kMP3) REQUIRE(packets.front().is_config());
  for (const MediaPacket& p : packets) {
    auto again = make_media_packet(p.flv_tag_type(), p.dts, p.body);
    INFO((again.is_ok() ? std::string() : again.error()));
    REQUIRE(again);
    CHECK(again->codec == codec);
    CHECK(again->flags == p.flags);
    CHECK(again->payload_offset == p.payload_offset);
    CHECK(again->pts == p.pts);
    if (p.is_video()) {
      auto info = parse_video_tag(p.body.view());
      REQUIRE(info);
      CHECK(info->enhanced == (codec != Codec::kH264));
    }
    if (!p.is_config()) {
      CHECK_FALSE(p.payload().empty());
      continue;
    }
    core::ByteView rec = p.payload();
    switch (codec) {
      case Codec::kH264: CHECK(parse_avc_decoder_config(rec).is_ok()); break;
      case Codec::kHEVC: CHECK(parse_hevc_decoder_config(rec).is_ok()); break;
      case Codec::kAV1: CHECK(parse_av1_codec_config(rec).is_ok()); break;
      case Codec::kVP9: CHECK(parse_vp9_codec_config(rec).is_ok()); break;
      case Codec::kAAC: CHECK(parse_aac_audio_specific_config(rec).is_ok()); break;
      case Codec::kOpus: CHECK(parse_opus_head(rec).is_ok()); break;
      default: FAIL("unexpected config");
    }
  }
}

// MediaPacket timestamps are the encoder's, each within half a millisecond.
void check_times(const std::vector<MediaPacket>& packets, const Encoded& e, bool has_cts) {
  size_t i = 0;
  for (const MediaPacket& p : packets) {
    if (p.is_config()) continue;
    REQUIRE(i < e.packets.size());
    const AVPacket& a = *e.packets[i++];
    double ms = 1000.0 * e.time_base.num / e.time_base.den;
    CHECK(std::abs(double(p.dts) - double(a.dts) * ms) <= 0.5);
    if (has_cts) CHECK(std::abs(double(p.pts) - double(a.pts) * ms) <= 0.5);
    CHECK(p.is_keyframe() == (p.is_video() && (a.flags & AV_PKT_FLAG_KEY)));
  }
  CHECK(i == e.packets.size());
}

struct AvStream {
  CodecParametersPtr par;
  std::vector<PacketPtr> packets;
};

AvStream to_av(const std::vector<MediaPacket>& packets, const MediaToAvOptions& options) {
  AvStream out;
  out.par = make_codec_parameters();
  const MediaPacket& first = packets.front();
  core::Status s = codec_parameters_from_config(first, out.par.get(), options.form);
  INFO(s.message());
  REQUIRE(s);
  auto conv = MediaToAv::create(first, options);
  INFO((conv.is_ok() ? std::string() : conv.error()));
  REQUIRE(conv);
  for (const MediaPacket& p : packets) {
    if (p.is_config()) {
      REQUIRE(conv->set_config(p));
      continue;
    }
    REQUIRE(MediaToAv::carries_media(p));
    PacketPtr a = make_packet();
    s = conv->convert(p, a.get());
    INFO(s.message());
    REQUIRE(s);
    out.packets.push_back(std::move(a));
  }
  return out;
}

void check_same(const std::vector<test::DecodedFrame>& want, const std::vector<test::DecodedFrame>& got) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("frame " << i);
    CHECK(got[i].width == want[i].width);
    CHECK(got[i].height == want[i].height);
    CHECK(got[i].samples == want[i].samples);
    CHECK(std::abs(got[i].pts_ms - want[i].pts_ms) <= 1.0);
  }
}

// The sequence header OBU of an AV1 temporal unit, whole.
std::vector<uint8_t> av1_sequence_header_obu(const AVPacket& p) {
  std::vector<Obu> obus;
  core::ByteView data(p.data, size_t(p.size));
  REQUIRE(split_obus(data, obus));
  for (const Obu& o : obus) {
    if (o.type == kObuSequenceHeader) return test::bytes(data.subspan(o.offset, o.size));
  }
  return {};
}

int total_samples(const std::vector<test::DecodedFrame>& frames) {
  int n = 0;
  for (const auto& f : frames) n += f.samples;
  return n;
}

// The whole trip for one encoder's output; returns the MediaPackets.
std::vector<MediaPacket> round_trip(const Encoded& e, Codec codec, AVRational out_tb) {
  std::vector<MediaPacket> media = to_media(e);
  check_flv(media, codec);
  check_times(media, e, codec == Codec::kH264 || codec == Codec::kHEVC);
  // The reference: the encoder's packets decoded as they are, less the
  // skip-samples side data (encoder delay and end padding) that FLV has no
  // field for; the round trip cannot carry it either.
  auto reference = test::clone_all(e.packets);
  for (PacketPtr& p : reference) av_packet_free_side_data(p.get());
  auto want = test::decode(e.par.get(), e.time_base, reference);
  if (e.frames_in) CHECK(int(want.size()) == e.frames_in);
  if (e.samples_in) CHECK(total_samples(want) >= e.samples_in);

  {
    INFO("length-prefixed / as carried, to a decoder");
    AvStream s = to_av(media, MediaToAvOptions{out_tb, BitstreamForm::kLengthPrefixed, true});
    if (codec == Codec::kVP9) {
      // VP9's record has no frame size; the first key frame gives it.
      REQUIRE(fill_size_from_keyframe(media[1], s.par.get()));
      CHECK(s.par->width == e.par->width);
      CHECK(s.par->height == e.par->height);
    } else if (e.par->codec_type == AVMEDIA_TYPE_VIDEO) {
      CHECK(s.par->width == e.par->width);
      CHECK(s.par->height == e.par->height);
    } else {
      CHECK(s.par->sample_rate == e.par->sample_rate);
      CHECK(s.par->ch_layout.nb_channels == e.par->ch_layout.nb_channels);
    }
    check_same(want, test::decode(s.par.get(), out_tb, s.packets));
  }
  if (codec == Codec::kH264 || codec == Codec::kHEVC) {
    {
      INFO("Annex B, to a decoder given no extradata");
      AvStream s = to_av(media, MediaToAvOptions{out_tb, BitstreamForm::kAnnexB, true});
      CHECK(s.par->extradata_size > 0);
      av_freep(&s.par->extradata);
      s.par->extradata_size = 0;
      check_same(want, test::decode(s.par.get(), out_tb, s.packets));
    }
  }
  {
    INFO("zero-copy, through the MP4 muxer and demuxer");
    test::Stream st;
    AvStream s = to_av(media, MediaToAvOptions{out_tb, BitstreamForm::kLengthPrefixed, false});
    if (codec == Codec::kVP9) REQUIRE(fill_size_from_keyframe(media[1], s.par.get()));
    // Zero-copy: the AVPacket points into the MediaPacket's own body.
    const MediaPacket& f = media[codec == Codec::kMP3 ? 0 : 1];
    CHECK(s.packets.front()->data == f.payload().data());
    st.par = std::move(s.par);
    st.time_base = out_tb;
    st.packets = std::move(s.packets);
    std::vector<uint8_t> file = test::mux_mp4({&st});
    std::vector<test::Stream> back = test::demux_mp4(file);
    REQUIRE(back.size() == 1);
    CHECK(back[0].packets.size() == e.packets.size());
    auto got = test::decode(back[0].par.get(), back[0].time_base, back[0].packets);
    if (e.frames_in) {
      CHECK(int(got.size()) == e.frames_in);
    } else {
      CHECK(total_samples(got) >= e.samples_in);
    }
  }
  return media;
}

}  // namespace

TEST_CASE("protocol_av: H.264 (libx264, B-frames) round trip") {
  test::VideoOptions o;
  o.max_b_frames = 2;
  o.options = {{"preset", "veryfast"}};
  Encoded e = test::encode_video("libx264", o);
  auto media = round_trip(e, Codec::kH264, AVRational{1, 90000});
  bool reordered = false;
  for (const MediaPacket& p : media) reordered |= p.pts != p.dts;
  CHECK(reordered);  // composition times were carried
}

TEST_CASE("protocol_av: HEVC (libx265) round trip") {
  test::VideoOptions o;
  o.options = {{"preset", "ultrafast"}, {"x265-params", "log-level=error:bframes=2"}};
  Encoded e = test::encode_video("libx265", o);
  round_trip(e, Codec::kHEVC, AVRational{1, 90000});
}

TEST_CASE("protocol_av: AV1 (libaom-av1) round trip") {
  test::VideoOptions o;
  o.frames = 12;
  o.options = {{"cpu-used", "8"}, {"usage", "realtime"}, {"lag-in-frames", "0"}};
  Encoded e = test::encode_video("libaom-av1", o);
  auto media = round_trip(e, Codec::kAV1, AVRational{1, 90000});
  // Debian's libaom wrapper leaves extradata empty (then the config comes
  // from the first key frame's sequence header); encoders that fill it
  // (libsvtav1, libaom elsewhere) give the bare sequence header OBU. Both
  // forms, and an av1C, make the same config.
  auto seq = av1_sequence_header_obu(*e.packets.front());
  REQUIRE_FALSE(seq.empty());
  for (bool as_av1c : {false, true}) {
    auto par = test::clone(e.par.get());
    std::vector<uint8_t> extra = as_av1c ? std::vector<uint8_t>(media.front().payload().begin(),
                                                                media.front().payload().end())
                                         : seq;
    av_freep(&par->extradata);
    par->extradata = static_cast<uint8_t*>(av_mallocz(extra.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    std::memcpy(par->extradata, extra.data(), extra.size());
    par->extradata_size = int(extra.size());
    auto cfg = config_from_codec_parameters(*par);
    INFO((cfg.is_ok() ? std::string() : cfg.error()));
    REQUIRE(cfg);
    CHECK(test::bytes((*cfg)->body.view()) == test::bytes(media.front().body.view()));
  }
  auto c = parse_av1_codec_config(media.front().payload());
  REQUIRE(c);
  CHECK(c->seq_profile == 0);
  CHECK_FALSE(c->high_bitdepth);
  CHECK(c->chroma_subsampling_x);
  CHECK(c->chroma_subsampling_y);
}

TEST_CASE("protocol_av: VP9 (libvpx-vp9, superframes) round trip") {
  test::VideoOptions o;
  o.options = {{"cpu-used", "8"}};
  Encoded e = test::encode_video("libvpx-vp9", o);
  round_trip(e, Codec::kVP9, AVRational{1, 90000});
}

TEST_CASE("protocol_av: AAC (native encoder) round trip") {
  Encoded e = test::encode_audio("aac", test::AudioOptions{48000, 2, 30});
  round_trip(e, Codec::kAAC, AVRational{1, 48000});
}

TEST_CASE("protocol_av: Opus (libopus) round trip") {
  Encoded e = test::encode_audio("libopus", test::AudioOptions{48000, 2, 30});
  round_trip(e, Codec::kOpus, AVRational{1, 48000});
}

TEST_CASE("protocol_av: MP3 (libmp3lame) round trip") {
  Encoded e = test::encode_audio("libmp3lame", test::AudioOptions{44100, 2, 20});
  auto media = round_trip(e, Codec::kMP3, AVRational{1, 44100});
  auto cfg = config_from_codec_parameters(*e.par);
  REQUIRE(cfg);
  CHECK_FALSE(cfg->has_value());  // FLV has no MP3 config record
}
