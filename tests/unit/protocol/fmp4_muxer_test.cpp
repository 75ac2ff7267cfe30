// Fragmented MP4 muxer (and the mp4 reader used to check it) on real encoder
// output, verified with ffmpeg/ffprobe. Fixtures (tests/unit/protocol/data):
//   h264_aac.flv        see flv_tag_test.cpp (H.264 High 320x240 25 fps, 2 B-frames,
//                       GOP 25, AAC LC 44.1 kHz stereo; 50 video + 88 audio frames)
//   hevc_aac_frag.mp4   ffmpeg 5.1: -f lavfi testsrc2=size=320x240:rate=25 -f lavfi
//                       sine=f=440:sample_rate=48000 -t 2 -c:v libx265 -x265-params
//                       keyint=25:min-keyint=25:bframes=3:open-gop=0 -crf 40 -tag:v hvc1
//                       -c:a aac -ac 1 -b:a 24k -movflags frag_keyframe+empty_moov+default_base_moof
//                       (50 HEVC frames with B-frames, 95 AAC frames 48 kHz mono)
//   av1_opus_frag.mp4   same sources, 160x120, -t 1 -c:v libaom-av1 -cpu-used 8 -g 10 -crf 50
//                       -c:a libopus -b:a 24k -ac 2 into a plain MP4, then -c copy with the same
//                       movflags (straight to fMP4, ffmpeg 5.1 writes an empty av1C)
//                       (25 AV1 frames, 51 Opus packets)
// The fMP4 fixtures are read back with parse_mp4_fragments and turned into the
// MediaPackets an E-RTMP publisher would produce (ms timestamps, FLV bodies).
#include "fmp4_test_support.h"

using namespace weir::fmp4_test;

// ---- box writer -----------------------------------------------------------------

TEST_CASE("mp4 box writer back-patches nested box sizes", "[fmp4]") {
  core::ByteWriter w;
  size_t outer = begin_box(w, box_type("moov"));
  size_t inner = begin_full_box(w, box_type("mfhd"), 1, 0x020001);
  w.u32be(7);
  end_box(w, inner);
  end_box(w, begin_box(w, box_type("free")));
  end_box(w, outer);
  std::vector<uint8_t> expect = {0, 0, 0, 32,  'm', 'o', 'o', 'v',  //
                                 0, 0, 0, 16,  'm', 'f', 'h', 'd', 1, 2, 0, 1, 0, 0, 0, 7,  //
                                 0, 0, 0, 8,   'f', 'r', 'e', 'e'};
  CHECK(vec(w.view()) == expect);
  auto boxes = read_mp4_boxes(w.view());
  REQUIRE(boxes.is_ok());
  REQUIRE(boxes->size() == 1);
  auto kids = read_mp4_boxes((*boxes)[0].payload, 8);
  REQUIRE(kids.is_ok());
  REQUIRE(kids->size() == 2);
  CHECK((*kids)[0].type == box_type("mfhd"));
  CHECK((*kids)[0].offset == 8);
  CHECK((*kids)[1].offset == 24);
}

// ---- H.264 + AAC ------------------------------------------------------------------

TEST_CASE("fmp4 init segment for H.264 + AAC describes both tracks", "[fmp4]") {
  auto pkts = flv_packets("h264_aac.flv");
  Fmp4Muxer mux;
  std::vector<uint8_t> avcc, asc;
  for (const auto& p : pkts) {
    if (!p.is_config()) continue;
    auto r = mux.add_packet(p);
    REQUIRE(r.is_ok());
    CHECK(*r == Fmp4AddResult::kConfigStored);
    (p.is_video() ? avcc : asc) = vec(p.payload());
  }
  REQUIRE(avcc.size() > 4);
  REQUIRE(!asc.empty());
  auto seg = mux.init_segment();
  REQUIRE(seg.is_ok());
  auto init = parse_mp4_init(seg->view());
  REQUIRE(init.is_ok());
  CHECK(init->major_brand == box_type("iso6"));
  CHECK(init->compatible_brands == std::vector<uint32_t>{box_type("iso6"), box_type("mp41")});
  CHECK(init->movie_timescale == 1000);
  CHECK(init->next_track_id == 3);
  CHECK(init->has_mvex);
  REQUIRE(init->tracks.size() == 2);
  const auto& v = init->tracks[0];
  CHECK(v.track_id == 1);
  CHECK(v.handler == box_type("vide"));
  CHECK(v.timescale == 90000);
  CHECK(v.sample_entry == box_type("avc1"));
  CHECK(v.width == 320);
  CHECK(v.height == 240);
  CHECK(v.tkhd_width == 320u << 16);
  CHECK(v.tkhd_height == 240u << 16);
  CHECK(v.config_type == box_type("avcC"));
  CHECK(vec(v.config) == avcc);
  CHECK(v.has_trex);
  CHECK(v.default_sample_description_index == 1);
  const auto& a = init->tracks[1];
  CHECK(a.track_id == 2);
  CHECK(a.handler == box_type("soun"));
  CHECK(a.timescale == 44100);
  CHECK(a.sample_entry == box_type("mp4a"));
  CHECK(a.channels == 2);
  CHECK(a.sample_rate == 44100);
  CHECK(a.config_type == box_type("esds"));
  CHECK(a.es_id == 2);
  CHECK(vec(a.config) == asc);
  CHECK(a.has_trex);

  auto tracks = mux.tracks();
  REQUIRE(tracks.size() == 2);
  CHECK(tracks[0].codecs == fmt::format("avc1.{:02x}{:02x}{:02x}", avcc[1], avcc[2], avcc[3]));
  CHECK(tracks[0].codecs.rfind("avc1.64", 0) == 0);  // High profile
  CHECK(tracks[1].codecs == "mp4a.40.2");
  CHECK(mux.codecs() == tracks[0].codecs + ",mp4a.40.2");

  // The tree walker sees the same boxes.
  auto tree = read_mp4_box_tree(seg->view());
  REQUIRE(tree.is_ok());
  REQUIRE(tree->size() == 2);
  CHECK((*tree)[1].box.type == box_type("moov"));
  CHECK((*tree)[1].children.size() == 4);  // mvhd, trak, trak, mvex

  // ffprobe reads the init segment alone.
  TempDir dir;
  write_file(dir.file("init.mp4"), {seg->view()});
  auto st = ffprobe_streams(dir.file("init.mp4"));
  REQUIRE(stream_of(st, "video"));
  CHECK(stream_of(st, "video")->at("codec_tag_string") == "avc1");
  CHECK(stream_of(st, "video")->at("width") == "320");
  REQUIRE(stream_of(st, "audio"));
  CHECK(stream_of(st, "audio")->at("sample_rate") == "44100");
}

TEST_CASE("fmp4 H.264 + AAC from a real FLV: parts, segments and ffmpeg decode", "[fmp4]") {
  auto out = run_muxer(flv_packets("h264_aac.flv"));
  CHECK(out.video_in.size() == 50);
  CHECK(out.audio_in.size() == 88);
  REQUIRE(out.segments.size() == 2);  // keyframes at 0 and 1000 ms
  CHECK(out.segments[0].size() >= 4);
  CHECK(out.segments[0][0].independent);
  CHECK(out.segments[1][0].independent);
  CHECK(out.segments[1][0].first_dts_ms <= 1000);
  CHECK(!out.segments[0][1].independent);
  // Segment 0 holds exactly the first GOP: 25 frames of 40 ms.
  uint32_t v0 = 0;
  double d0 = 0;
  for (const auto& f : out.segments[0]) {
    v0 += f.video_samples;
    d0 += f.duration_ms;
  }
  CHECK(v0 == 25);
  CHECK(d0 == Approx(1000.0));
  for (const auto& seg : out.segments) {
    for (const auto& f : seg) {
      CHECK(f.duration_ms >= 200.0);  // part target
      CHECK(f.duration_ms <= 240.0);
    }
  }
  CHECK(out.stats.dts_clamped == 0);
  CHECK(out.stats.audio_resyncs == 0);
  check_structure(out);
  check_decodes(out, "h264", 320, 240, "aac", 44100, 2);
}

// ---- HEVC + AAC 48 kHz mono ----------------------------------------------------------

TEST_CASE("fmp4 HEVC + AAC: hvc1 init, B-frames, segments decode alone", "[fmp4]") {
  auto pkts = mp4_packets("hevc_aac_frag.mp4");
  auto out = run_muxer(pkts, 300);
  CHECK(out.video_in.size() == 50);
  CHECK(out.audio_in.size() == 95);
  REQUIRE(out.segments.size() == 2);
  REQUIRE(out.tracks.size() == 2);
  CHECK(out.tracks[0].codec == Codec::kHEVC);
  CHECK(out.tracks[0].width == 320);
  CHECK(out.tracks[0].height == 240);
  // Main, compatible with profiles 1+2 (reversed bits: 6), level 2 (60),
  // progressive_source + frame_only constraint flags (0x90).
  CHECK(out.tracks[0].codecs == "hvc1.1.6.L60.90");
  CHECK(out.tracks[1].timescale == 48000);
  CHECK(out.tracks[1].channels == 1);
  bool negative_or_positive_cto = false;
  for (const auto& p : out.video_in) negative_or_positive_cto |= p.pts != p.dts;
  CHECK(negative_or_positive_cto);  // B-frames: composition offsets are exercised
  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  CHECK(init->tracks[0].sample_entry == box_type("hvc1"));
  CHECK(init->tracks[0].config_type == box_type("hvcC"));
  check_structure(out);
  check_decodes(out, "hevc", 320, 240, "aac", 48000, 1);
}

// ---- AV1 + Opus -----------------------------------------------------------------------

TEST_CASE("fmp4 AV1 + Opus: av01/av1C, dOps, temporal delimiters stripped", "[fmp4]") {
  auto pkts = mp4_packets("av1_opus_frag.mp4", /*inject_td=*/true);
  auto out = run_muxer(pkts, 200);
  CHECK(out.video_in.size() == 25);
  CHECK(out.audio_in.size() == 51);
  REQUIRE(out.segments.size() == 3);  // keyframes every 10 frames
  REQUIRE(out.tracks.size() == 2);
  CHECK(out.tracks[0].codec == Codec::kAV1);
  CHECK(out.tracks[0].width == 160);  // from the sequence header OBU in av1C
  CHECK(out.tracks[0].height == 120);
  CHECK(out.tracks[0].codecs == "av01.0.00M.08");  // Main profile, level 2.0, Main tier, 8-bit
  CHECK(out.tracks[1].codec == Codec::kOpus);
  CHECK(out.tracks[1].codecs == "Opus");
  CHECK(out.tracks[1].timescale == 48000);
  CHECK(out.tracks[1].channels == 2);

  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  CHECK(init->tracks[0].sample_entry == box_type("av01"));
  CHECK(init->tracks[0].config_type == box_type("av1C"));
  CHECK(init->tracks[1].sample_entry == box_type("Opus"));
  CHECK(init->tracks[1].config_type == box_type("dOps"));
  auto src_file = load("av1_opus_frag.mp4");
  auto src_init = parse_mp4_init(bv(src_file));
  REQUIRE(src_init.is_ok());
  CHECK(vec(init->tracks[1].config) == vec(src_init->tracks[1].config));  // dOps round trip

  // Every AV1 sample is the input minus the 2-byte temporal delimiter.
  std::vector<uint8_t> all;
  for (const auto& seg : out.segments) {
    for (const auto& f : seg) all.insert(all.end(), f.data.view().begin(), f.data.view().end());
  }
  auto frags = parse_mp4_fragments(bv(all), &*init);
  REQUIRE(frags.is_ok());
  size_t vi = 0;
  for (const auto& f : *frags) {
    for (const auto& run : f.tracks) {
      if (run.track_id != 1) continue;
      for (const auto& s : run.samples) {
        REQUIRE(vi < out.video_in.size());
        ByteView in = out.video_in[vi++].payload();
        REQUIRE(in.size() > 2);
        CHECK(vec(s.data) == vec(in.subspan(2)));
      }
    }
  }
  CHECK(vi == 25);
  check_structure(out);
  check_decodes(out, "av1", 160, 120, "opus", 48000, 2);
}

// ---- single-track output ----------------------------------------------------------------

TEST_CASE("fmp4 audio-only and video-only streams", "[fmp4]") {
  auto pkts = flv_packets("h264_aac.flv");
  SECTION("audio only") {
    auto out = run_muxer(only(pkts, core::TrackType::kAudio), 200, 1000);
    REQUIRE(out.tracks.size() == 1);
    CHECK(out.tracks[0].track_id == 1);
    CHECK(out.audio_in.size() == 88);
    CHECK(out.segments.size() == 2);
    for (const auto& seg : out.segments) {
      for (const auto& f : seg) CHECK(f.independent);
    }
    auto init = parse_mp4_init(out.init.view());
    REQUIRE(init.is_ok());
    CHECK(init->compatible_brands ==
          std::vector<uint32_t>{box_type("iso6"), box_type("cmfc"), box_type("mp41")});
    CHECK(init->tracks[0].es_id == 1);
    check_structure(out);
    check_decodes(out, "", 0, 0, "aac", 44100, 2);
  }
  SECTION("video only") {
    auto out = run_muxer(only(pkts, core::TrackType::kVideo), 200);
    REQUIRE(out.tracks.size() == 1);
    CHECK(out.tracks[0].track_id == 1);
    CHECK(out.video_in.size() == 50);
    CHECK(out.segments.size() == 2);
    check_structure(out);
    check_decodes(out, "h264", 320, 240, "", 0, 0);
  }
}
