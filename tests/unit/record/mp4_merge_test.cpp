// merge_segments on segment files made by Fmp4Muxer from real encoder output,
// checked with ffprobe/ffmpeg: fast start, frame counts, durations across a
// forward time gap, skipped corrupt segments, config changes, HEVC and Opus.
#include "record_test_support.h"

#include "record/mp4_merge.h"
#include "record/segment_file.h"

using namespace weir::record_test;
using weir::record::merge_segments;
using weir::record::MergeRequest;

namespace {

struct Written {
  std::vector<std::string> paths;
  size_t video = 0;
  size_t audio = 0;
};

// Writes segments seg0.mp4, seg1.mp4, ... into dir.
Written write_segments(TempDir& dir, const std::vector<Segment>& segs) {
  Written w;
  for (size_t i = 0; i < segs.size(); ++i) {
    w.paths.push_back(dir.file("seg" + std::to_string(i) + ".mp4"));
    write_file(w.paths.back(), {bv(segs[i].bytes)});
    w.video += segs[i].video;
    w.audio += segs[i].audio;
  }
  return w;
}

void check_fast_start(const std::string& path) {
  auto boxes = top_level_boxes(path);
  REQUIRE(boxes.size() == 3);
  CHECK(boxes[0] == "ftyp");
  CHECK(boxes[1] == "moov");
  CHECK(boxes[2] == "mdat");
}

}  // namespace

TEST_CASE("merge of 3 H.264 + AAC segments with a forward gap keeps the gap as time", "[record]") {
  TempDir dir;
  auto pkts = flv_packets("h264_aac.flv");  // 2 s
  // 0-2 s, 2-4 s, then the publisher was away 5 s: 9-11 s.
  Written w = write_segments(dir, {make_segment(pkts, 0), make_segment(pkts, 2000),
                                   make_segment(pkts, 9000)});
  MergeRequest req;
  req.segments = w.paths;
  req.output = dir.file("out.mp4");
  auto r = merge_segments(req);
  REQUIRE(r.is_ok());
  CHECK(r->segments_used == 3);
  CHECK(r->skipped.empty());
  CHECK(r->truncated.empty());
  CHECK(r->gaps >= 1);
  CHECK(!std::filesystem::exists(req.output + ".tmp"));
  CHECK(r->bytes == std::filesystem::file_size(req.output));
  REQUIRE(r->tracks.size() == 2);
  CHECK(r->tracks[0].samples == w.video);
  CHECK(r->tracks[1].samples == w.audio);
  CHECK(r->duration_s == Approx(11.0).margin(0.15));

  check_fast_start(req.output);
  auto j = ffprobe_json(req.output);
  CHECK(std::stod(j["format"]["duration"].get<std::string>()) == Approx(11.0).margin(0.15));
  const auto* v = stream_json(j, "video");
  const auto* a = stream_json(j, "audio");
  REQUIRE(v);
  REQUIRE(a);
  CHECK((*v)["codec_name"] == "h264");
  CHECK((*v)["nb_frames"] == std::to_string(w.video));
  CHECK((*a)["codec_name"] == "aac");
  CHECK((*a)["nb_frames"] == std::to_string(w.audio));
  CHECK(ffmpeg_errors(req.output) == "");
  // Every frame decodes (the decoded count equals what went in).
  auto s = ffprobe_streams(req.output);
  CHECK(stream_of(s, "video")->at("nb_read_frames") == std::to_string(w.video));
  CHECK(stream_of(s, "audio")->at("nb_read_frames") == std::to_string(w.audio));
  // The gap is kept as time: the stts stretches the last frame before it, so
  // the decode times jump by > 5 s once (the video track is 11 s long).
  CmdResult pk = run("ffprobe -v error -select_streams v -show_entries packet=dts_time -of csv=p=0 '" +
                     req.output + "'");
  double prev = -1, longest = 0;
  std::istringstream lines(pk.output);
  for (std::string l; std::getline(lines, l);) {
    if (l.empty()) continue;
    double d = std::stod(l);
    if (prev >= 0) longest = std::max(longest, d - prev);
    prev = d;
  }
  CHECK(longest == Approx(5.04).margin(0.01));
  CHECK(r->tracks[0].duration_s == Approx(11.0).margin(0.01));
  // The looped 2.04 s audio clip overlaps the next segment by 43 ms: clamped.
  CHECK(r->overlaps_clamped > 0);
}

TEST_CASE("merge skips and reports a corrupt middle segment; a cut-short tail is used", "[record]") {
  TempDir dir;
  auto pkts = flv_packets("h264_aac.flv");
  std::vector<Segment> segs = {make_segment(pkts, 0), make_segment(pkts, 2000), make_segment(pkts, 4000)};
  // Middle: the moov is garbage. Last: a crash cut it inside its last mdat.
  auto scan = protocol::scan_fmp4_bytes(bv(segs[1].bytes));
  REQUIRE(scan.is_ok());
  for (size_t i = 20; i < 60; ++i) segs[1].bytes[size_t(scan->init_size) - i] ^= 0x5A;
  auto last = protocol::scan_fmp4_bytes(bv(segs[2].bytes));
  REQUIRE(last.is_ok());
  const auto& lf = last->fragments.back();
  segs[2].bytes.resize(size_t(lf.end() - 10));
  size_t lost_video = 0, lost_audio = 0;
  for (const auto& run : lf.runs) {
    (last->tracks[run.track_index].is_video() ? lost_video : lost_audio) += run.sample_count;
  }
  Written w = write_segments(dir, segs);

  MergeRequest req;
  req.segments = w.paths;
  req.output = dir.file("out.mp4");
  req.fsync = false;
  auto r = merge_segments(req);
  REQUIRE(r.is_ok());
  REQUIRE(r->skipped.size() == 1);
  CHECK(r->skipped[0].path == w.paths[1]);
  CHECK(!r->skipped[0].reason.empty());
  REQUIRE(r->truncated.size() == 1);
  CHECK(r->truncated[0].path == w.paths[2]);
  CHECK(r->segments_used == 2);
  const size_t video = segs[0].video + segs[2].video - lost_video;
  const size_t audio = segs[0].audio + segs[2].audio - lost_audio;
  CHECK(r->tracks[0].samples == video);
  CHECK(r->tracks[1].samples == audio);
  check_fast_start(req.output);
  CHECK(ffmpeg_errors(req.output) == "");
  auto j = ffprobe_json(req.output);
  CHECK((*stream_json(j, "video"))["nb_frames"] == std::to_string(video));
  CHECK((*stream_json(j, "audio"))["nb_frames"] == std::to_string(audio));

  // Nothing usable: an error, and no output left behind.
  MergeRequest none;
  none.segments = {w.paths[1], dir.file("missing.mp4")};
  none.output = dir.file("none.mp4");
  auto n = merge_segments(none);
  CHECK(!n.is_ok());
  CHECK(!std::filesystem::exists(none.output));
  CHECK(!std::filesystem::exists(none.output + ".tmp"));
}

TEST_CASE("merge across a codec config change gives 2 stsd entries and decodes", "[record]") {
  TempDir dir;
  auto a = ffmpeg_flv_packets(dir.file("a.flv"), "320x240", 48000);
  auto b = ffmpeg_flv_packets(dir.file("b.flv"), "256x144", 44100);  // also rescales audio
  Written w = write_segments(dir, {make_segment(a, 0), make_segment(b, 2000)});
  MergeRequest req;
  req.segments = w.paths;
  req.output = dir.file("out.mp4");
  auto r = merge_segments(req);
  REQUIRE(r.is_ok());
  REQUIRE(r->tracks.size() == 2);
  CHECK(r->tracks[0].sample_entries.size() == 2);  // two SPS: two avc1 entries
  CHECK(r->tracks[1].sample_entries.size() == 2);  // 48 kHz, then 44.1 kHz AAC
  CHECK(r->tracks[1].timescale == 48000);
  CHECK(r->duration_s == Approx(4.0).margin(0.15));
  CHECK(r->tracks[0].samples == w.video);
  CHECK(r->tracks[1].samples == w.audio);
  check_fast_start(req.output);
  CHECK(ffmpeg_errors(req.output) == "");
  auto s = ffprobe_streams(req.output);
  CHECK(stream_of(s, "video")->at("nb_read_frames") == std::to_string(w.video));
  CHECK(stream_of(s, "audio")->at("nb_read_frames") == std::to_string(w.audio));

  // The playlist over the same segments: a discontinuity at the new init.
  MergeRequest again = req;
  again.output = dir.file("out2.mp4");
  again.playlist = dir.file("index.m3u8");
  REQUIRE(merge_segments(again).is_ok());
  auto text = read_file(again.playlist);
  std::string t(text.begin(), text.end());
  INFO(t);
  CHECK(t.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"seg1.mp4\"") != std::string::npos);
  // Not decoded with ffmpeg: its HLS demuxer (5.1) goes on decoding with
  // the first init's SPS/PPS after the new EXT-X-MAP (slice errors in the
  // 256x144 part), while each segment file alone and the merged MP4 decode
  // clean. Players that re-initialise at EXT-X-DISCONTINUITY + a new
  // EXT-X-MAP are what the playlist is for.
}

TEST_CASE("merge of HEVC + AAC (B-frames) and AV1 + Opus segments", "[record]") {
  TempDir dir;
  SECTION("HEVC") {
    auto pkts = mp4_packets("hevc_aac_frag.mp4");
    Written w = write_segments(dir, {make_segment(pkts, 0), make_segment(pkts, 2000)});
    MergeRequest req;
    req.segments = w.paths;
    req.output = dir.file("hevc.mp4");
    auto r = merge_segments(req);
    REQUIRE(r.is_ok());
    CHECK(r->tracks[0].sample_entries == std::vector<uint32_t>{box_type("hvc1")});
    CHECK(ffmpeg_errors(req.output) == "");
    auto j = ffprobe_json(req.output);
    CHECK((*stream_json(j, "video"))["codec_name"] == "hevc");
    CHECK((*stream_json(j, "video"))["nb_frames"] == std::to_string(w.video));
    CHECK((*stream_json(j, "audio"))["nb_frames"] == std::to_string(w.audio));
    INFO(run("ffprobe -v error -show_entries stream=codec_type,start_time,duration -of compact=p=0 '" + req.output + "'").output);
    CHECK(std::stod(j["format"]["duration"].get<std::string>()) == Approx(r->duration_s).margin(0.05));
    CHECK(r->duration_s == Approx(4.0 + r->tracks[0].start_s).margin(0.1));
  }
  SECTION("AV1 + Opus") {
    auto pkts = mp4_packets("av1_opus_frag.mp4", true);
    Written w = write_segments(dir, {make_segment(pkts, 0), make_segment(pkts, 1000)});
    MergeRequest req;
    req.segments = w.paths;
    req.output = dir.file("av1.mp4");
    auto r = merge_segments(req);
    REQUIRE(r.is_ok());
    CHECK(r->tracks[1].sample_entries == std::vector<uint32_t>{box_type("Opus")});
    CHECK(ffmpeg_errors(req.output) == "");
    auto j = ffprobe_json(req.output);
    CHECK((*stream_json(j, "audio"))["codec_name"] == "opus");
    CHECK((*stream_json(j, "video"))["nb_frames"] == std::to_string(w.video));
    CHECK((*stream_json(j, "audio"))["nb_frames"] == std::to_string(w.audio));
  }
  SECTION("audio only") {
    auto pkts = only(flv_packets("h264_aac.flv"), core::TrackType::kAudio);
    Written w = write_segments(dir, {make_segment(pkts, 0, 300), make_segment(pkts, 2000, 300)});
    MergeRequest req;
    req.segments = w.paths;
    req.output = dir.file("audio.mp4");
    auto r = merge_segments(req);
    REQUIRE(r.is_ok());
    REQUIRE(r->tracks.size() == 1);
    CHECK(ffmpeg_errors(req.output) == "");
    auto j = ffprobe_json(req.output);
    CHECK((*stream_json(j, "audio"))["nb_frames"] == std::to_string(w.audio));
  }
}

// Not run by default: writes 3 H.264 + AAC segment files (the second ends
// 5 s before the third starts) into $WEIR_RECORD_SEGMENTS_OUT, for
// tools/bench/merge_bench.sh and manual checks.
TEST_CASE("record test segments", "[.segments]") {
  const char* dir = std::getenv("WEIR_RECORD_SEGMENTS_OUT");
  REQUIRE(dir != nullptr);
  auto pkts = flv_packets("h264_aac.flv");
  int64_t shifts[3] = {0, 2000, 9000};
  for (int i = 0; i < 3; ++i) {
    write_file(std::string(dir) + "/seg" + std::to_string(i) + ".mp4", {bv(make_segment(pkts, shifts[i]).bytes)});
  }
}
