// VP9 (vp09 + vpcC) and MP3 (mp4a + esds 0x6B / 0x69) in the fMP4 muxer, on
// real encoder output, checked with the mp4 reader and ffmpeg/ffprobe.
// Fixtures (tests/unit/protocol/data):
//   vp9_mp3_frag.mp4  ffmpeg 5.1: -f lavfi testsrc2=size=160x120:rate=25 -f lavfi
//                     sine=f=440:sample_rate=44100 -t 1 -c:v libvpx-vp9 -deadline good
//                     -cpu-used 8 -g 10 -b:v 150k -c:a libmp3lame -b:a 64k -ac 2
//                     -movflags frag_keyframe+empty_moov+default_base_moof
//                     (25 VP9 frames, key frames every 10; MPEG-1 layer III 44.1 kHz stereo)
//   mp3_22k_mono.mp3  ffmpeg 5.1: -f lavfi sine=f=440:sample_rate=22050 -t 0.5 -ac 1
//                     -c:a libmp3lame -b:a 32k -write_xing 0 -id3v2_version 0
//                     (MPEG-2 LSF layer III frames only, 576 samples each)
#include "fmp4_test_support.h"

#include "protocol/fmp4_in_band.h"

using namespace weir::fmp4_test;

namespace {

size_t mp3_samples_in(const std::string& fixture) {
  auto file = load(fixture);
  auto init = parse_mp4_init(bv(file));
  REQUIRE(init.is_ok());
  auto frags = parse_mp4_fragments(bv(file), &*init);
  REQUIRE(frags.is_ok());
  size_t n = 0;
  for (const auto& f : *frags)
    for (const auto& run : f.tracks)
      if (init->find(run.track_id)->handler == box_type("soun")) n += run.samples.size();
  return n;
}

std::vector<Mp4Fragment> fragments_of(const MuxOutput& out, const Mp4Init& init, std::vector<uint8_t>& bytes) {
  for (size_t s = 0; s < out.segments.size(); ++s) {
    auto seg = join(segment_bytes(out, s));
    bytes.insert(bytes.end(), seg.begin(), seg.end());
  }
  auto frags = parse_mp4_fragments(bv(bytes), &init);
  REQUIRE(frags.is_ok());
  return *frags;
}

}  // namespace

TEST_CASE("fmp4 VP9 + MP3: vp09/vpcC and mp4a with objectTypeIndication 0x6B decode", "[fmp4]") {
  auto pkts = mp4_packets("vp9_mp3_frag.mp4");
  REQUIRE(pkts[0].is_config());
  REQUIRE(pkts[0].codec == Codec::kVP9);
  const std::vector<uint8_t> record = vec(pkts[0].payload());
  REQUIRE(record.size() == 12);  // vpcC body: version 1, flags, 8 bytes of fields
  auto out = run_muxer(pkts, 200);
  const size_t mp3_frames = mp3_samples_in("vp9_mp3_frag.mp4");
  CHECK(out.video_in.size() == 25);
  CHECK(out.audio_in.size() == mp3_frames);
  REQUIRE(out.segments.size() == 3);  // key frames at 0, 400 and 800 ms
  REQUIRE(out.tracks.size() == 2);
  CHECK(out.tracks[0].codec == Codec::kVP9);
  CHECK(out.tracks[0].width == 160);   // from the key frame header: the record has no size
  CHECK(out.tracks[0].height == 120);
  CHECK(out.tracks[0].codecs == fmt::format("vp09.00.{:02d}.08", record[5]));
  CHECK(out.tracks[1].codec == Codec::kMP3);
  CHECK(out.tracks[1].codecs == "mp4a.6B");
  CHECK(out.tracks[1].timescale == 44100);
  CHECK(out.tracks[1].sample_rate == 44100);
  CHECK(out.tracks[1].channels == 2);
  CHECK(out.stats.samples_malformed == 0);

  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  REQUIRE(init->tracks.size() == 2);
  const auto& v = init->tracks[0];
  CHECK(v.sample_entry == box_type("vp09"));
  CHECK(v.config_type == box_type("vpcC"));
  CHECK(vec(v.config) == record);  // the publisher's record, as sent
  CHECK(v.width == 160);
  CHECK(v.height == 120);
  const auto& a = init->tracks[1];
  CHECK(a.sample_entry == box_type("mp4a"));
  CHECK(a.config_type == box_type("esds"));
  CHECK(a.object_type == kOtiMpeg1Audio);
  CHECK(a.config.empty());  // no DecoderSpecificInfo
  CHECK(a.es_id == 2);
  CHECK(a.channels == 2);
  CHECK(a.sample_rate == 44100);

  // One MP3 frame per sample, 1152 samples long (MPEG-1 layer III).
  std::vector<uint8_t> bytes;
  size_t audio = 0;
  for (const auto& f : fragments_of(out, *init, bytes))
    for (const auto& run : f.tracks)
      if (run.track_id == 2)
        for (const auto& s : run.samples) {
          CHECK(s.duration == 1152);
          ++audio;
        }
  CHECK(audio == mp3_frames);

  check_structure(out);
  check_decodes(out, "vp9", 160, 120, "mp3", 44100, 2);
  TempDir dir;
  auto st = ffprobe_streams(write_whole(out, dir));
  REQUIRE(stream_of(st, "video"));
  CHECK(stream_of(st, "video")->at("codec_tag_string") == "vp09");
}

TEST_CASE("fmp4 VP9 without a config record: vpcC from the key frame header", "[fmp4]") {
  auto all = mp4_packets("vp9_mp3_frag.mp4", false, /*vp9_config=*/false);
  auto video = only(all, core::TrackType::kVideo);
  REQUIRE(!video[0].is_config());
  REQUIRE(video[0].is_keyframe());

  SECTION("the key frame gives profile, bit depth, subsampling, size and a level from the size") {
    auto out = run_muxer(video, 200);
    CHECK(out.video_in.size() == 25);
    REQUIRE(out.tracks.size() == 1);
    CHECK(out.tracks[0].width == 160);
    CHECK(out.tracks[0].height == 120);
    CHECK(out.tracks[0].codecs == "vp09.00.10.08");  // 160x120 fits level 1
    auto init = parse_mp4_init(out.init.view());
    REQUIRE(init.is_ok());
    auto c = parse_vp9_codec_config(init->tracks[0].config);
    REQUIRE(c.is_ok());
    CHECK(c->profile == 0);
    CHECK(c->level == 10);
    CHECK(c->bit_depth == 8);
    CHECK(c->chroma_subsampling == kVp9Chroma420Vertical);
    check_structure(out);
    check_decodes(out, "vp9", 160, 120, "", 0, 0);
  }
  SECTION("inter frames before the first key frame are dropped") {
    Fmp4Muxer mux;
    CHECK(*mux.add_packet(video[1]) == Fmp4AddResult::kIgnored);
    CHECK(mux.tracks().empty());
    CHECK(*mux.add_packet(video[0]) == Fmp4AddResult::kQueued);
    CHECK(mux.tracks().size() == 1);
  }
  SECTION("a key frame whose header does not parse, with no configuration, is refused") {
    std::vector<uint8_t> junk = {0x00, 0x11, 0x22, 0x33};
    MediaPacket bad = packet(kFlvTagVideo, 0,
                             build_video_tag_enhanced(kFourccVp09, kVideoFrameKey, kVideoPacketCodedFramesX, 0, bv(junk)));
    Fmp4Muxer mux;
    auto r = mux.add_packet(bad);
    REQUIRE(!r.is_ok());
    CHECK_THAT(r.error(), Catch::Contains("VP9 key frame"));
    CHECK(mux.tracks().empty());
    CHECK(!mux.init_segment().is_ok());
    // Once configured, a broken key frame is dropped and counted instead.
    CHECK(*mux.add_packet(video[0]) == Fmp4AddResult::kQueued);
    CHECK(*mux.add_packet(bad) == Fmp4AddResult::kIgnored);
    CHECK(mux.stats().samples_malformed == 1);
  }
  SECTION("a bad record is refused; a good one is used from the next key frame") {
    Fmp4Muxer mux;
    std::vector<uint8_t> v0 = {0, 0, 0, 0, 0, 10, 0x80, 2, 2, 2, 0, 0};  // version 0
    auto r = mux.add_packet(packet(kFlvTagVideo, 0,
                                   build_video_tag_enhanced(kFourccVp09, kVideoFrameKey, kVideoPacketSequenceStart, 0,
                                                            bv(v0))));
    CHECK(!r.is_ok());
    std::vector<uint8_t> rec = {1, 0, 0, 0, 0, 31, 0x80, 1, 1, 1, 0, 0};  // level 3.1, BT.709
    CHECK(*mux.add_packet(packet(kFlvTagVideo, 0,
                                 build_video_tag_enhanced(kFourccVp09, kVideoFrameKey, kVideoPacketSequenceStart, 0,
                                                          bv(rec)))) == Fmp4AddResult::kConfigStored);
    CHECK(mux.tracks().empty());  // no size yet
    CHECK(*mux.add_packet(video[0]) == Fmp4AddResult::kQueued);
    REQUIRE(mux.tracks().size() == 1);
    CHECK(mux.tracks()[0].codecs == "vp09.00.31.08");
    auto init = mux.init_segment();
    REQUIRE(init.is_ok());
    auto pi = parse_mp4_init(init->view());
    REQUIRE(pi.is_ok());
    CHECK(vec(pi->tracks[0].config) == rec);
  }
}

TEST_CASE("fmp4 MP3 from FLV: MPEG-2 rates, multi-frame packets, broken packets, parameter changes", "[fmp4]") {
  auto file = load("mp3_22k_mono.mp3");
  auto split = split_mp3_packet(bv(file), 10000);
  REQUIRE(split.is_ok());
  const auto& frames = split->frames;
  REQUIRE(frames.size() >= 10);
  CHECK(split->first.samples == 576);
  CHECK(split->first.sample_rate == 22050);
  CHECK(split->object_type == kOtiMpeg2Audio);
  auto ms_of = [](size_t frame) { return int64_t(std::llround(double(frame) * 576 * 1000.0 / 22050)); };

  SECTION("two frames per FLV packet become two samples; a broken packet is dropped and counted") {
    Fmp4Muxer mux;
    size_t i = 0;
    for (; i + 1 < frames.size(); i += 2) {
      ByteView two(frames[i].data(), frames[i].size() + frames[i + 1].size());
      CHECK(*mux.add_packet(packet(kFlvTagAudio, ms_of(i), mp3_tag(two))) == Fmp4AddResult::kQueued);
      if (i == 4) {
        // A frame cut short, then one followed by garbage: not whole frames.
        CHECK(*mux.add_packet(packet(kFlvTagAudio, ms_of(i + 2), mp3_tag(frames[i].subspan(0, 20)))) ==
              Fmp4AddResult::kIgnored);
        std::vector<uint8_t> tail = vec(frames[i]);
        tail.insert(tail.end(), {0x12, 0x34, 0x56});
        CHECK(*mux.add_packet(packet(kFlvTagAudio, ms_of(i + 2), mp3_tag(bv(tail)))) == Fmp4AddResult::kIgnored);
      }
    }
    const size_t muxed = i;
    CHECK(mux.stats().samples_malformed == 2);
    CHECK(mux.stats().samples_queued == muxed);
    REQUIRE(mux.tracks().size() == 1);
    CHECK(mux.tracks()[0].codecs == "mp4a.69");
    CHECK(mux.tracks()[0].timescale == 22050);
    CHECK(mux.tracks()[0].channels == 1);
    auto init = mux.init_segment();
    REQUIRE(init.is_ok());
    Fmp4Fragment f = mux.flush_fragment(1);
    CHECK(f.audio_samples == muxed);
    CHECK(f.duration_ms == Approx(double(muxed) * 576 * 1000 / 22050));
    CHECK(mux.stats().audio_resyncs == 0);  // the split frames sit on the frame grid
    auto pi = parse_mp4_init(init->view());
    REQUIRE(pi.is_ok());
    CHECK(pi->tracks[0].object_type == kOtiMpeg2Audio);
    CHECK(pi->tracks[0].es_id == 1);
    auto pf = parse_mp4_fragments(f.data.view(), &*pi);
    REQUIRE(pf.is_ok());
    REQUIRE(pf->size() == 1);
    size_t n = 0;
    for (const auto& s : (*pf)[0].tracks[0].samples) {
      CHECK(s.duration == 576);
      CHECK(vec(s.data) == vec(frames[n++]));
    }
    TempDir dir;
    write_file(dir.file("mp3.mp4"), {init->view(), f.data.view()});
    CHECK(ffmpeg_warnings(dir.file("mp3.mp4")) == "");
    auto st = ffprobe_streams(dir.file("mp3.mp4"));
    REQUIRE(stream_of(st, "audio"));
    CHECK(stream_of(st, "audio")->at("codec_name") == "mp3");
    CHECK(stream_of(st, "audio")->at("sample_rate") == "22050");
    CHECK(stream_of(st, "audio")->at("nb_read_frames") == std::to_string(muxed));
  }

  SECTION("MP3 joins a video init taken after its first frame; new parameters later are a change") {
    auto pkts = mp4_packets("vp9_mp3_frag.mp4");
    Fmp4Muxer mux;
    CHECK(*mux.add_packet(pkts[0]) == Fmp4AddResult::kConfigStored);  // vp09 record
    auto video = only(pkts, core::TrackType::kVideo);
    auto audio = only(pkts, core::TrackType::kAudio);
    CHECK(*mux.add_packet(video[1]) == Fmp4AddResult::kQueued);  // video[0] is the config
    // No init taken yet: the MP3 track appearing is no change.
    CHECK(*mux.add_packet(audio[0]) == Fmp4AddResult::kQueued);
    CHECK(mux.init_generation() == 0);
    auto init = mux.init_segment();
    REQUIRE(init.is_ok());
    CHECK(parse_mp4_init(init->view())->tracks.size() == 2);
    CHECK(*mux.add_packet(video[2]) == Fmp4AddResult::kQueued);
    CHECK(*mux.add_packet(audio[1]) == Fmp4AddResult::kQueued);
    // Now 22.05 kHz mono frames: a change, and the packet is queued after it.
    const int64_t at = audio[1].dts + 26;
    CHECK(*mux.add_packet(packet(kFlvTagAudio, at, mp3_tag(frames[0]))) == Fmp4AddResult::kConfigChanged);
    CHECK(mux.config_change_pending());
    Fmp4Fragment old_frag = mux.flush_fragment(1);
    CHECK(old_frag.audio_samples == 2);
    CHECK(old_frag.video_samples == 2);
    auto init2 = mux.init_segment();
    REQUIRE(init2.is_ok());
    auto pi = parse_mp4_init(init2->view());
    REQUIRE(pi.is_ok());
    CHECK(pi->tracks[1].object_type == kOtiMpeg2Audio);
    CHECK(pi->tracks[1].sample_rate == 22050);
    CHECK(mux.codecs() == mux.tracks()[0].codecs + ",mp4a.69");
    CHECK(*mux.add_packet(video[3]) == Fmp4AddResult::kIgnored);  // video waits for a key frame
    Fmp4Fragment next = mux.flush_fragment(2);
    CHECK(next.audio_samples == 1);  // the frame that brought the change
  }
}

TEST_CASE("VP9 level from the picture size", "[fmp4]") {
  CHECK(vp9_level_for_size(160, 120) == 10);
  CHECK(vp9_level_for_size(320, 240) == 20);
  CHECK(vp9_level_for_size(640, 360) == 21);
  CHECK(vp9_level_for_size(1280, 720) == 31);
  CHECK(vp9_level_for_size(1920, 1080) == 40);
  CHECK(vp9_level_for_size(3840, 2160) == 50);
  CHECK(vp9_level_for_size(7680, 4320) == 60);
  CHECK(vp9_level_for_size(16384, 16384) == 62);
}

TEST_CASE("fmp4 after a reported change, changes before the new init is taken are not changes", "[fmp4]") {
  auto pkts = mp4_packets("vp9_mp3_frag.mp4");
  auto video = only(pkts, core::TrackType::kVideo);  // [0] is the vp09 record
  auto audio = only(pkts, core::TrackType::kAudio);
  const auto mp3_file = load("mp3_22k_mono.mp3");  // lsf->frames point into it
  auto lsf = split_mp3_packet(bv(mp3_file), 10000);
  REQUIRE(lsf.is_ok());
  Fmp4Muxer mux;
  CHECK(*mux.add_packet(video[0]) == Fmp4AddResult::kConfigStored);
  CHECK(*mux.add_packet(video[1]) == Fmp4AddResult::kQueued);
  CHECK(*mux.add_packet(video[2]) == Fmp4AddResult::kQueued);
  REQUIRE(mux.init_segment().is_ok());  // video only
  // The MP3 track appears after the init: a change, the frame queued after it.
  CHECK(*mux.add_packet(audio[3]) == Fmp4AddResult::kConfigChanged);
  CHECK(mux.has_old_config_samples());
  const uint64_t ignored = mux.stats().samples_ignored;
  // Other parameters before the new init is taken: no second change; the
  // 44.1 kHz frame queued after the barrier goes (no init will describe it),
  // the video samples before the barrier stay for the init taken before.
  CHECK(*mux.add_packet(packet(kFlvTagAudio, audio[3].dts + 26, mp3_tag(lsf->frames[0]))) ==
        Fmp4AddResult::kQueued);
  CHECK(mux.stats().samples_ignored == ignored + 1);
  CHECK(mux.init_generation() == 1);
  CHECK(mux.has_old_config_samples());
  Fmp4Fragment old_frag = mux.flush_fragment(1);
  CHECK(old_frag.video_samples == 2);
  CHECK(old_frag.audio_samples == 0);
  CHECK(!mux.has_old_config_samples());
  auto init = mux.init_segment();
  REQUIRE(init.is_ok());
  auto pi = parse_mp4_init(init->view());
  REQUIRE(pi.is_ok());
  REQUIRE(pi->tracks.size() == 2);
  CHECK(pi->tracks[1].object_type == kOtiMpeg2Audio);
  Fmp4Fragment next = mux.flush_fragment(2);
  CHECK(next.audio_samples == 1);  // the 22.05 kHz frame
  // The new init is taken: a change again is a change.
  CHECK(*mux.add_packet(packet(kFlvTagAudio, audio[3].dts + 100, mp3_tag(audio[4].payload()))) ==
        Fmp4AddResult::kConfigChanged);
}
