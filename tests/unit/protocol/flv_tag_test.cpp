// FLV tag body parsing (legacy + Enhanced RTMP), MediaPacket conversion and
// tag builders. Real data: tests/unit/protocol/data/h264_aac.flv was made with
//   ffmpeg -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100
//          -t 2 -c:v libx264 -preset veryfast -crf 45 -g 25 -bf 2 -c:a aac -b:a 32k -ac 2 -f flv
// and hevc_320x240.hvcc is the hvcC box of a libx265 MP4 (see codec_config_test.cpp).
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protocol/codec_config.h"
#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;
using core::Codec;
namespace pf = core::packet_flags;

namespace {

using weir::test::load;

ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }

std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

std::vector<FlvTag> read_all(const std::vector<uint8_t>& file) {
  std::vector<FlvTag> tags;
  FlvReader reader(FlvReaderOptions{});
  auto st = reader.feed(bv(file), [&](const FlvTag& t) {
    tags.push_back(t);
    return core::Status::ok();
  });
  REQUIRE(st.is_ok());
  return tags;
}

// A body is consistent if it either fails or describes a payload inside it.
void check_consistent(ByteView body) {
  auto v = parse_video_tag(body);
  if (v) {
    CHECK(v->payload_offset <= body.size());
    CHECK(v->payload_offset + v->payload_size <= body.size());
  }
  auto a = parse_audio_tag(body);
  if (a) {
    CHECK(a->payload_offset <= body.size());
    CHECK(a->payload_offset + a->payload_size <= body.size());
  }
}

const std::vector<uint8_t> kPayload = {0x00, 0x00, 0x00, 0x03, 0x65, 0x88, 0x84};

}  // namespace

TEST_CASE("real ffmpeg FLV: every tag becomes the right MediaPacket", "[flv_tag]") {
  auto tags = read_all(load("h264_aac.flv"));
  REQUIRE(tags.size() == 142);

  int video = 0, audio = 0, script = 0;
  std::vector<int> key_indices;
  std::vector<int64_t> key_dts;
  for (const FlvTag& t : tags) {
    auto r = make_media_packet(t.type, t.timestamp_ms, t.body);
    REQUIRE(r.is_ok());
    const core::MediaPacket& p = r.value();
    CHECK(p.body.data() == t.body.data());  // shares, never copies
    CHECK(p.dts == t.timestamp_ms);
    if (t.type == kFlvTagScript) {
      ++script;
      CHECK(p.track == core::TrackType::kData);
      CHECK(p.codec == Codec::kAmf);
      CHECK(p.payload_offset == 0);
      CHECK(p.payload().size() == t.body.size());
      continue;
    }
    if (t.type == kFlvTagAudio) {
      CHECK(p.track == core::TrackType::kAudio);
      CHECK(p.codec == Codec::kAAC);
      CHECK(p.payload_offset == 2);
      CHECK(p.pts == p.dts);
      if (audio == 0) {
        CHECK(p.flags == pf::kConfig);
        auto asc = parse_aac_audio_specific_config(p.payload());
        REQUIRE(asc.is_ok());
        CHECK(asc->object_type == 2);
        CHECK(asc->sampling_frequency == 44100);
        CHECK(asc->channel_configuration == 2);
      } else {
        CHECK(p.flags == 0);
        CHECK(p.payload().size() > 0);
      }
      ++audio;
      continue;
    }
    REQUIRE(t.type == kFlvTagVideo);
    CHECK(p.track == core::TrackType::kVideo);
    CHECK(p.codec == Codec::kH264);
    if (video == 0) {
      CHECK(p.flags == pf::kConfig);
      auto avcc = parse_avc_decoder_config(p.payload());
      REQUIRE(avcc.is_ok());
      auto dims = parse_h264_sps_dimensions(avcc->sps.at(0).view());
      REQUIRE(dims.is_ok());
      CHECK(dims->width == 320);
      CHECK(dims->height == 240);
    } else if (video == 51) {
      // ffmpeg ends the stream with an AVC end-of-sequence tag.
      CHECK(p.flags == pf::kEndOfSequence);
      CHECK(p.payload().empty());
      CHECK(p.dts == 1960);
    } else {
      auto nals = split_length_prefixed(p.payload(), 4);
      REQUIRE(nals.is_ok());
      REQUIRE(!nals->empty());
      bool has_idr = false;
      for (ByteView n : nals.value()) has_idr |= h264_nal_type(n[0]) == 5;
      CHECK(has_idr == p.is_keyframe());
      if (p.is_keyframe()) {
        key_indices.push_back(video);
        key_dts.push_back(p.dts);
      }
      CHECK(p.pts >= p.dts);
    }
    ++video;
  }
  CHECK(script == 1);
  CHECK(audio == 89);
  CHECK(video == 52);
  CHECK(key_indices == std::vector<int>{1, 26});
  CHECK(key_dts == std::vector<int64_t>{0, 1000});

  // First pictures: dts 0 / 40 / 80 with cts 80 / 160 / 40 (ffprobe: pts 80, 200, 120).
  std::vector<std::pair<int64_t, int64_t>> first;
  for (const FlvTag& t : tags) {
    if (t.type != kFlvTagVideo) continue;
    auto p = make_media_packet(t.type, t.timestamp_ms, t.body);
    if (p->is_config()) continue;
    first.emplace_back(p->dts, p->pts);
    if (first.size() == 3) break;
  }
  CHECK(first == std::vector<std::pair<int64_t, int64_t>>{{0, 80}, {40, 200}, {80, 120}});
}

TEST_CASE("legacy AVC tags: builder and parser agree", "[flv_tag]") {
  auto body = build_video_tag_avc(true, kAvcPacketNalu, -33, bv(kPayload));
  REQUIRE(body.size() == 5 + kPayload.size());
  CHECK(body.view()[0] == 0x17);
  CHECK(body.view()[1] == 0x01);
  CHECK(vec(body.view().subspan(2, 3)) == std::vector<uint8_t>{0xFF, 0xFF, 0xDF});
  auto v = parse_video_tag(body.view());
  REQUIRE(v.is_ok());
  CHECK(v->codec == Codec::kH264);
  CHECK(v->codec_id == 7);
  CHECK(v->frame_type == kVideoFrameKey);
  CHECK(v->keyframe);
  CHECK(v->has_picture);
  CHECK(!v->is_config);
  CHECK(!v->enhanced);
  CHECK(v->cts == -33);
  CHECK(v->payload_offset == 5);
  CHECK(v->payload_size == kPayload.size());

  auto p = make_media_packet(kFlvTagVideo, 1000, body);
  REQUIRE(p.is_ok());
  CHECK(p->dts == 1000);
  CHECK(p->pts == 967);
  CHECK(p->flags == pf::kKeyframe);
  CHECK(vec(p->payload()) == kPayload);

  auto inter = build_video_tag_avc(false, kAvcPacketNalu, 8388607, bv(kPayload));
  CHECK(inter.view()[0] == 0x27);
  CHECK(parse_video_tag(inter.view())->cts == 8388607);
  // Out-of-range composition times are clamped to SI24.
  CHECK(parse_video_tag(build_video_tag_avc(false, 1, 9000000, {}).view())->cts == 8388607);
  CHECK(parse_video_tag(build_video_tag_avc(false, 1, -9000000, {}).view())->cts == -8388608);

  auto seq = build_video_tag_avc(true, kAvcPacketSequenceHeader, 0, bv(kPayload));
  auto sp = make_media_packet(kFlvTagVideo, 0, seq);
  CHECK(sp->flags == pf::kConfig);  // a sequence header is not a keyframe
  auto eos = build_video_tag_avc(true, kAvcPacketEndOfSequence, 0, {});
  auto ep = make_media_packet(kFlvTagVideo, 0, eos);
  CHECK(ep->flags == pf::kEndOfSequence);
  CHECK(ep->payload().empty());

  // Disposable inter frame (frame type 3).
  auto disp = build_video_tag_legacy(7, kVideoFrameDisposable, 1, 0, bv(kPayload));
  auto dp = make_media_packet(kFlvTagVideo, 0, disp);
  CHECK(dp->flags == pf::kDisposable);
}

TEST_CASE("legacy HEVC (12) and AV1 (13) codec ids", "[flv_tag]") {
  auto hevc = build_video_tag_legacy(kVideoCodecIdHevcLegacy, kVideoFrameKey, 1, 40, bv(kPayload));
  auto v = parse_video_tag(hevc.view());
  REQUIRE(v.is_ok());
  CHECK(v->codec == Codec::kHEVC);
  CHECK(v->cts == 40);
  CHECK(v->keyframe);
  auto av1 = build_video_tag_legacy(kVideoCodecIdAv1Legacy, kVideoFrameInter, 0, 0, bv(kPayload));
  auto a = parse_video_tag(av1.view());
  REQUIRE(a.is_ok());
  CHECK(a->codec == Codec::kAV1);
  CHECK(a->is_config);
  CHECK(!a->keyframe);

  std::vector<uint8_t> short_hevc = {0x1C, 0x01, 0x00};
  auto e = parse_video_tag(bv(short_hevc));
  REQUIRE(!e.is_ok());
  CHECK(e.error() == "video tag: 3 bytes, HEVC header needs 5");
}

TEST_CASE("video tag errors name the problem", "[flv_tag]") {
  auto err = [](std::vector<uint8_t> b) {
    auto r = parse_video_tag(bv(b));
    REQUIRE(!r.is_ok());
    return r.error();
  };
  CHECK(err({}) == "video tag: empty body");
  CHECK(err({0x17, 0x01, 0x00}) == "video tag: 3 bytes, AVC header needs 5");
  CHECK(err({0x17}) == "video tag: 1 bytes, AVC header needs 5");
  CHECK(err({0x17, 0x05, 0, 0, 0}) == "video tag: unknown AVCPacketType 5");
  CHECK(err({0x07, 0x01, 0, 0, 0}) == "video tag: reserved frame type 0");
  CHECK(err({0x19, 0x01, 0, 0, 0}) == "video tag: unknown video codec id 9");
  CHECK(err({0x57}) == "video tag: command frame without command byte");
  CHECK(err({0x91, 'h', 'v', 'c'}) == "video tag: 4 bytes, enhanced header needs 5");
  CHECK(err({0x91, 'v', 'p', '0', '8', 1}) == "video tag: unsupported video FourCC 'vp08'");
  CHECK(err({0x91, 'h', 'v', 'c', '1', 0}) == "video tag: 6 bytes, CodedFrames header needs 8");
  CHECK(err({0x98, 'h', 'v', 'c', '1'}) == "video tag: unknown video packet type 8");

  // Legacy command frame: no picture, empty payload, not a keyframe.
  std::vector<uint8_t> cmd = {0x57, 0x00};
  auto c = parse_video_tag(bv(cmd));
  REQUIRE(c.is_ok());
  CHECK(c->is_command_frame);
  CHECK(!c->keyframe);
  auto cp = make_media_packet(kFlvTagVideo, 5, core::Slice::copy_of(bv(cmd)));
  REQUIRE(cp.is_ok());
  CHECK(cp->flags == 0);
  CHECK(cp->payload().empty());

  // Legacy non-AVC codecs (VP6 = 4) parse with an unknown codec.
  std::vector<uint8_t> vp6 = {0x14, 0x00, 0x11, 0x22};
  auto vp = make_media_packet(kFlvTagVideo, 0, core::Slice::copy_of(bv(vp6)));
  REQUIRE(vp.is_ok());
  CHECK(vp->codec == Codec::kUnknown);
  CHECK(vp->is_keyframe());
  CHECK(vp->payload_offset == 1);
}

TEST_CASE("enhanced video: hvc1 with a real hvcC, CodedFrames and CodedFramesX", "[flv_tag]") {
  auto hvcc = load("hevc_320x240.hvcc");

  auto seq = build_video_tag_enhanced(kFourccHvc1, kVideoFrameKey, kVideoPacketSequenceStart, 0, bv(hvcc));
  CHECK(seq.view()[0] == 0x90);
  CHECK(vec(seq.view().subspan(1, 4)) == std::vector<uint8_t>{'h', 'v', 'c', '1'});
  auto s = parse_video_tag(seq.view());
  REQUIRE(s.is_ok());
  CHECK(s->enhanced);
  CHECK(s->fourcc == kFourccHvc1);
  CHECK(s->codec == Codec::kHEVC);
  CHECK(s->is_config);
  CHECK(!s->keyframe);
  CHECK(s->payload_offset == 5);
  auto sp = make_media_packet(kFlvTagVideo, 0, seq);
  REQUIRE(sp.is_ok());
  CHECK(sp->flags == pf::kConfig);
  CHECK(vec(sp->payload()) == hvcc);
  auto cfg = parse_hevc_decoder_config(sp->payload());
  REQUIRE(cfg.is_ok());
  auto dims = parse_hevc_sps_dimensions(cfg->nalus_of_type(kHevcNalSps).at(0).view());
  REQUIRE(dims.is_ok());
  CHECK(dims->width == 320);
  CHECK(dims->height == 240);

  // CodedFrames with a composition time.
  auto cf = build_video_tag_enhanced(kFourccHvc1, kVideoFrameKey, kVideoPacketCodedFrames, 40, bv(kPayload));
  CHECK(cf.view()[0] == 0x91);
  auto c = parse_video_tag(cf.view());
  REQUIRE(c.is_ok());
  CHECK(c->packet_type == kVideoPacketCodedFrames);
  CHECK(c->cts == 40);
  CHECK(c->keyframe);
  CHECK(c->payload_offset == 8);
  auto cp = make_media_packet(kFlvTagVideo, 2000, cf);
  CHECK(cp->pts == 2040);
  CHECK(cp->flags == pf::kKeyframe);
  CHECK(vec(cp->payload()) == kPayload);

  // Negative cts.
  auto neg = build_video_tag_enhanced(kFourccAvc1, kVideoFrameInter, kVideoPacketCodedFrames, -80, bv(kPayload));
  auto n = parse_video_tag(neg.view());
  REQUIRE(n.is_ok());
  CHECK(n->codec == Codec::kH264);
  CHECK(n->cts == -80);
  CHECK(!n->keyframe);

  // cts == 0 becomes CodedFramesX (no SI24 on the wire).
  auto x = build_video_tag_enhanced(kFourccHvc1, kVideoFrameInter, kVideoPacketCodedFrames, 0, bv(kPayload));
  CHECK(x.view()[0] == 0xA3);
  CHECK(x.size() == 5 + kPayload.size());
  auto xi = parse_video_tag(x.view());
  REQUIRE(xi.is_ok());
  CHECK(xi->packet_type == kVideoPacketCodedFramesX);
  CHECK(xi->cts == 0);
  CHECK(xi->has_picture);
  CHECK(xi->payload_offset == 5);

  // av01 / vp09 CodedFrames never carry a composition time.
  for (uint32_t fourcc : {kFourccAv01, kFourccVp09}) {
    auto t = build_video_tag_enhanced(fourcc, kVideoFrameKey, kVideoPacketCodedFrames, 40, bv(kPayload));
    CHECK(t.view()[0] == 0x91);
    auto i = parse_video_tag(t.view());
    REQUIRE(i.is_ok());
    CHECK(i->codec == (fourcc == kFourccAv01 ? Codec::kAV1 : Codec::kVP9));
    CHECK(i->cts == 0);
    CHECK(i->payload_offset == 5);
    CHECK(i->keyframe);
  }

  auto end = build_video_tag_enhanced(kFourccHvc1, kVideoFrameKey, kVideoPacketSequenceEnd, 0, {});
  auto ep = make_media_packet(kFlvTagVideo, 0, end);
  REQUIRE(ep.is_ok());
  CHECK(ep->flags == pf::kEndOfSequence);
}

TEST_CASE("enhanced video: metadata, command frames, MPEG2TS sequence start", "[flv_tag]") {
  // Metadata ignores the frame type (0 here would otherwise be reserved).
  std::vector<uint8_t> amf = {0x02, 0x00, 0x09, 'c', 'o', 'l', 'o', 'r', 'I', 'n', 'f', 'o', 0x05};
  auto meta = build_video_tag_enhanced(kFourccHvc1, 0, kVideoPacketMetadata, 0, bv(amf));
  auto m = parse_video_tag(meta.view());
  REQUIRE(m.is_ok());
  CHECK(m->is_metadata);
  CHECK(!m->has_picture);
  CHECK(vec(meta.view().subspan(m->payload_offset)) == amf);
  auto mp = make_media_packet(kFlvTagVideo, 0, meta);
  REQUIRE(mp.is_ok());
  CHECK(mp->flags == 0);
  CHECK(mp->payload().empty());  // packagers skip it; FLV forwards the body

  // Enhanced command frame: no FourCC follows.
  std::vector<uint8_t> cmd = {0xD1, 0x01};
  auto c = parse_video_tag(bv(cmd));
  REQUIRE(c.is_ok());
  CHECK(c->is_command_frame);
  CHECK(c->fourcc == 0);

  auto ts = build_video_tag_enhanced(kFourccAv01, kVideoFrameKey, kVideoPacketMpeg2TsSequenceStart, 0, bv(kPayload));
  auto t = parse_video_tag(ts.view());
  REQUIRE(t.is_ok());
  CHECK(t->is_mpeg2ts_sequence_start);
  CHECK(!t->is_config);
  CHECK(make_media_packet(kFlvTagVideo, 0, ts)->payload().empty());
}

TEST_CASE("enhanced video: ModEx TimestampOffsetNano, 8- and 16-bit sizes", "[flv_tag]") {
  // 0x97: key frame, ModEx; size-1 = 2; data 01 02 03; modExType 0 | CodedFrames.
  std::vector<uint8_t> b = {0x97, 0x02, 0x01, 0x02, 0x03, 0x01, 'h', 'v', 'c', '1', 0x00, 0x00, 0x28};
  b.insert(b.end(), kPayload.begin(), kPayload.end());
  auto v = parse_video_tag(bv(b));
  REQUIRE(v.is_ok());
  CHECK(v->timestamp_offset_nano == 0x010203);
  CHECK(v->packet_type == kVideoPacketCodedFrames);
  CHECK(v->cts == 40);
  CHECK(v->codec == Codec::kHEVC);
  CHECK(v->payload_offset == 13);
  CHECK(vec(bv(b).subspan(v->payload_offset)) == kPayload);

  // 16-bit size: UI8 255 then UI16 299 -> 300 bytes of ModEx data, then a
  // second ModEx (unknown type 5, skipped) before CodedFramesX.
  std::vector<uint8_t> big = {0x97, 0xFF, 0x01, 0x2B};
  big.insert(big.end(), 300, 0x00);
  big[4] = 0x00;
  big[5] = 0x10;
  big[6] = 0x00;  // nano = 0x001000
  big.push_back(0x07);  // modExType 0, next packet type ModEx again
  big.push_back(0x00);  // size 1
  big.push_back(0xAA);
  big.push_back(0x53);  // modExType 5 (unknown, skipped), CodedFramesX
  for (char ch : std::string("av01")) big.push_back(uint8_t(ch));
  big.insert(big.end(), kPayload.begin(), kPayload.end());
  auto w = parse_video_tag(bv(big));
  REQUIRE(w.is_ok());
  CHECK(w->timestamp_offset_nano == 0x1000);
  CHECK(w->packet_type == kVideoPacketCodedFramesX);
  CHECK(w->codec == Codec::kAV1);
  CHECK(w->payload_size == kPayload.size());

  std::vector<uint8_t> over = {0x97, 0x09, 0x01};
  auto e = parse_video_tag(bv(over));
  REQUIRE(!e.is_ok());
  CHECK(e.error() == "video tag: ModEx data of 10 bytes exceeds the 1 bytes left");
}

TEST_CASE("enhanced video: multitrack", "[flv_tag]") {
  // OneTrack: hvc1 CodedFrames on track 2.
  std::vector<uint8_t> one = {0x96, 0x01, 'h', 'v', 'c', '1', 0x02, 0x00, 0x00, 0x10};
  one.insert(one.end(), kPayload.begin(), kPayload.end());
  auto v = parse_video_tag(bv(one));
  REQUIRE(v.is_ok());
  CHECK(v->multitrack);
  CHECK(v->multitrack_type == kMultitrackOneTrack);
  CHECK(v->track_id == 2);
  CHECK(v->cts == 16);
  CHECK(v->keyframe);
  CHECK(v->payload_offset == 10);
  uint8_t track = 99;
  auto p = make_media_packet(kFlvTagVideo, 100, core::Slice::copy_of(bv(one)), &track);
  REQUIRE(p.is_ok());
  CHECK(track == 2);
  CHECK(p->pts == 116);
  CHECK(vec(p->payload()) == kPayload);

  // ManyTracks carrying exactly one track (size-delimited).
  std::vector<uint8_t> many = {0x96, 0x13, 'a', 'v', '0', '1', 0x00, 0x00, 0x00, uint8_t(kPayload.size())};
  many.insert(many.end(), kPayload.begin(), kPayload.end());
  auto m = parse_video_tag(bv(many));
  REQUIRE(m.is_ok());
  CHECK(m->codec == Codec::kAV1);
  CHECK(m->packet_type == kVideoPacketCodedFramesX);
  CHECK(m->payload_offset == 10);
  CHECK(m->payload_size == kPayload.size());

  // ManyTracksManyCodecs: per-track FourCC.
  std::vector<uint8_t> mm = {0x96, 0x21, 'h', 'v', 'c', '1', 0x01, 0x00, 0x00, uint8_t(3 + kPayload.size()), 0x00, 0x00, 0x21};
  mm.insert(mm.end(), kPayload.begin(), kPayload.end());
  auto mi = parse_video_tag(bv(mm));
  REQUIRE(mi.is_ok());
  CHECK(mi->fourcc == kFourccHvc1);
  CHECK(mi->track_id == 1);
  CHECK(mi->cts == 0x21);
  CHECK(mi->payload_size == kPayload.size());

  // Two tracks in one message: unsupported, with a clear reason.
  std::vector<uint8_t> two = many;
  two.insert(two.end(), {0x01, 0x00, 0x00, 0x02, 0xAB, 0xCD});
  auto t = parse_video_tag(bv(two));
  REQUIRE(!t.is_ok());
  CHECK(t.error() == "video tag: multitrack message with 2 tracks is unsupported (one track per message)");

  // Track size past the end.
  std::vector<uint8_t> bad = {0x96, 0x13, 'a', 'v', '0', '1', 0x00, 0x00, 0x01, 0x00, 0xAA};
  auto b = parse_video_tag(bv(bad));
  REQUIRE(!b.is_ok());
  CHECK(b.error() == "video tag: track 0 size 256 exceeds the 1 bytes left");

  // Nested multitrack and unknown multitrack type.
  std::vector<uint8_t> nested = {0x96, 0x06, 'h', 'v', 'c', '1'};
  CHECK(!parse_video_tag(bv(nested)).is_ok());
  std::vector<uint8_t> mtype = {0x96, 0x31, 'h', 'v', 'c', '1', 0};
  CHECK(parse_video_tag(bv(mtype)).error() == "video tag: unknown multitrack type 3");
}

TEST_CASE("legacy audio tags", "[flv_tag]") {
  std::vector<uint8_t> asc = {0x12, 0x10};
  auto cfg = build_audio_tag_aac(kAacPacketSequenceHeader, bv(asc));
  CHECK(vec(cfg.view()) == std::vector<uint8_t>{0xAF, 0x00, 0x12, 0x10});
  auto a = parse_audio_tag(cfg.view());
  REQUIRE(a.is_ok());
  CHECK(a->codec == Codec::kAAC);
  CHECK(a->sound_format == kSoundFormatAac);
  CHECK(a->sound_rate == 3);
  CHECK(a->sound_size == 1);
  CHECK(a->sound_channels == 2);
  CHECK(a->is_config);
  CHECK(a->payload_offset == 2);
  auto p = make_media_packet(kFlvTagAudio, 23, cfg);
  CHECK(p->flags == pf::kConfig);
  CHECK(p->track == core::TrackType::kAudio);
  CHECK(vec(p->payload()) == asc);

  auto raw = build_audio_tag_aac(kAacPacketRaw, bv(kPayload), false);
  CHECK(raw.view()[0] == 0xAE);
  auto r = parse_audio_tag(raw.view());
  CHECK(r->sound_channels == 1);
  CHECK(r->has_audio);
  CHECK(!r->is_config);

  std::vector<uint8_t> mp3 = {0x2F, 0xFF, 0xFB, 0x90};
  auto m = parse_audio_tag(bv(mp3));
  CHECK(m->codec == Codec::kMP3);
  CHECK(m->payload_offset == 1);
  std::vector<uint8_t> pcm = {0x3E, 0x00, 0x00};
  CHECK(parse_audio_tag(bv(pcm))->codec == Codec::kPCM);
  CHECK(parse_audio_tag(bv(pcm))->sound_size == 1);
  std::vector<uint8_t> speex = {0xB2, 0x01};
  auto sp = make_media_packet(kFlvTagAudio, 0, core::Slice::copy_of(bv(speex)));
  REQUIRE(sp.is_ok());
  CHECK(sp->codec == Codec::kUnknown);

  auto err = [](std::vector<uint8_t> b) {
    auto x = parse_audio_tag(bv(b));
    REQUIRE(!x.is_ok());
    return x.error();
  };
  CHECK(err({}) == "audio tag: empty body");
  CHECK(err({0xAF}) == "audio tag: 1 bytes, AAC header needs 2");
  CHECK(err({0xAF, 0x02}) == "audio tag: unknown AACPacketType 2");
  CHECK(err({0xC2, 0x00}) == "audio tag: reserved sound format 12");
}

TEST_CASE("enhanced audio: FourCCs, ModEx, multitrack, multichannel config", "[flv_tag]") {
  struct Case {
    uint32_t fourcc;
    Codec codec;
  };
  for (Case c : {Case{kFourccOpus, Codec::kOpus}, Case{kFourccFlac, Codec::kFLAC},
                 Case{kFourccAc3, Codec::kAC3}, Case{kFourccEac3, Codec::kEAC3},
                 Case{kFourccMp3, Codec::kMP3}, Case{kFourccMp4a, Codec::kAAC}}) {
    auto seq = build_audio_tag_enhanced(c.fourcc, kAudioPacketSequenceStart, bv(kPayload));
    CHECK(seq.view()[0] == 0x90);
    auto s = parse_audio_tag(seq.view());
    REQUIRE(s.is_ok());
    CHECK(s->enhanced);
    CHECK(s->codec == c.codec);
    CHECK(s->is_config);
    CHECK(s->payload_offset == 5);
    auto frames = build_audio_tag_enhanced(c.fourcc, kAudioPacketCodedFrames, bv(kPayload));
    auto p = make_media_packet(kFlvTagAudio, 7, frames);
    REQUIRE(p.is_ok());
    CHECK(p->codec == c.codec);
    CHECK(p->flags == 0);
    CHECK(vec(p->payload()) == kPayload);
  }
  auto end = build_audio_tag_enhanced(kFourccOpus, kAudioPacketSequenceEnd, {});
  CHECK(make_media_packet(kFlvTagAudio, 0, end)->flags == pf::kEndOfSequence);

  // MultichannelConfig: channel order Native (1), 6 channels, UI32 flags.
  std::vector<uint8_t> mc = {0x01, 0x06, 0x00, 0x00, 0x00, 0x3F};
  auto mct = build_audio_tag_enhanced(kFourccOpus, kAudioPacketMultichannelConfig, bv(mc));
  auto m = parse_audio_tag(mct.view());
  REQUIRE(m.is_ok());
  CHECK(m->is_multichannel_config);
  CHECK(make_media_packet(kFlvTagAudio, 0, mct)->payload().empty());

  // ModEx then CodedFrames.
  std::vector<uint8_t> modex = {0x97, 0x02, 0x00, 0x01, 0x00, 0x01, 'O', 'p', 'u', 's', 0xFC};
  auto x = parse_audio_tag(bv(modex));
  REQUIRE(x.is_ok());
  CHECK(x->timestamp_offset_nano == 0x100);
  CHECK(x->codec == Codec::kOpus);
  CHECK(x->payload_offset == 10);

  // Multitrack OneTrack, AAC frames on track 1.
  std::vector<uint8_t> mt = {0x95, 0x01, 'm', 'p', '4', 'a', 0x01, 0x21, 0x10};
  uint8_t track = 0;
  auto mp = make_media_packet(kFlvTagAudio, 0, core::Slice::copy_of(bv(mt)), &track);
  REQUIRE(mp.is_ok());
  CHECK(track == 1);
  CHECK(mp->codec == Codec::kAAC);
  CHECK(mp->payload_offset == 7);

  std::vector<uint8_t> unknown = {0x91, 'v', 'r', 'b', 's', 0x00};
  CHECK(parse_audio_tag(bv(unknown)).error() == "audio tag: unsupported audio FourCC 'vrbs'");
  std::vector<uint8_t> badtype = {0x93, 'O', 'p', 'u', 's'};
  CHECK(parse_audio_tag(bv(badtype)).error() == "audio tag: unknown audio packet type 3");
  std::vector<uint8_t> trunc = {0x90, 'O', 'p'};
  CHECK(parse_audio_tag(bv(trunc)).error() == "audio tag: 3 bytes, enhanced header needs 5");
}

TEST_CASE("make_media_packet: script data and unknown tag types", "[flv_tag]") {
  std::vector<uint8_t> amf = {0x02, 0x00, 0x0A, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a'};
  auto p = make_media_packet(kFlvTagScript, 0, core::Slice::copy_of(bv(amf)));
  REQUIRE(p.is_ok());
  CHECK(p->is_data());
  CHECK(p->codec == Codec::kAmf);
  CHECK(p->flv_tag_type() == 18);
  CHECK(vec(p->payload()) == amf);
  auto e = make_media_packet(7, 0, core::Slice::copy_of(bv(amf)));
  REQUIRE(!e.is_ok());
  CHECK(e.error() == "flv tag: unsupported tag type 7");
  auto v = make_media_packet(kFlvTagVideo, 0, core::Slice());
  CHECK(v.error() == "video tag: empty body");
}

TEST_CASE("every truncation of valid tag bodies fails cleanly or stays in bounds", "[flv_tag]") {
  auto hvcc = load("hevc_320x240.hvcc");
  std::vector<std::vector<uint8_t>> bodies;
  bodies.push_back(vec(build_video_tag_avc(true, 1, 80, bv(kPayload)).view()));
  bodies.push_back(vec(build_video_tag_enhanced(kFourccHvc1, 1, 0, 0, ByteView(hvcc.data(), 40)).view()));
  bodies.push_back(vec(build_video_tag_enhanced(kFourccHvc1, 2, 1, -3, bv(kPayload)).view()));
  bodies.push_back({0x97, 0x02, 0x01, 0x02, 0x03, 0x01, 'h', 'v', 'c', '1', 0x00, 0x00, 0x28, 0x00, 0x00});
  bodies.push_back({0x96, 0x21, 'h', 'v', 'c', '1', 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x21, 0xAA, 0xBB});
  bodies.push_back({0x96, 0x13, 'a', 'v', '0', '1', 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB});
  bodies.push_back(vec(build_audio_tag_aac(1, bv(kPayload)).view()));
  bodies.push_back({0x97, 0x02, 0x00, 0x01, 0x00, 0x01, 'O', 'p', 'u', 's', 0xFC});
  bodies.push_back({0x95, 0x11, 'm', 'p', '4', 'a', 0x01, 0x00, 0x00, 0x01, 0x21});

  for (const auto& body : bodies) {
    for (size_t len = 0; len <= body.size(); ++len) {
      ByteView prefix(body.data(), len);
      check_consistent(prefix);
      auto p9 = make_media_packet(kFlvTagVideo, 0, core::Slice::copy_of(prefix));
      if (p9) CHECK(p9->payload_offset <= len);
      auto p8 = make_media_packet(kFlvTagAudio, 0, core::Slice::copy_of(prefix));
      if (p8) CHECK(p8->payload_offset <= len);
    }
  }
  // Short prefixes of headers that need their bytes must fail.
  auto avc = build_video_tag_avc(true, 1, 0, {});
  for (size_t len = 0; len < 5; ++len) CHECK(!parse_video_tag(avc.view().first(len)).is_ok());
  auto cf = build_video_tag_enhanced(kFourccHvc1, 1, 1, 5, {});
  REQUIRE(cf.size() == 8);
  for (size_t len = 0; len < 8; ++len) CHECK(!parse_video_tag(cf.view().first(len)).is_ok());

  // All 1- and 2-byte bodies.
  for (int a = 0; a < 256; ++a) {
    uint8_t one[1] = {uint8_t(a)};
    check_consistent(ByteView(one, 1));
    for (int b = 0; b < 256; ++b) {
      uint8_t two[2] = {uint8_t(a), uint8_t(b)};
      check_consistent(ByteView(two, 2));
    }
  }
}

TEST_CASE("fourcc_to_string", "[flv_tag]") {
  CHECK(fourcc_to_string(kFourccHvc1) == "hvc1");
  CHECK(fourcc_to_string(kFourccMp3) == ".mp3");
  CHECK(fourcc_to_string(0x00417F42) == "?A?B");
}
