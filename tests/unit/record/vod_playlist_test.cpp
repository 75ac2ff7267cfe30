// HLS VOD playlist by byte range into the segment files: structure, run
// cutting at independent fragments, and ffmpeg decoding it.
#include "record_test_support.h"

#include <regex>

#include "record/mp4_merge.h"
#include "record/segment_file.h"
#include "record/vod_playlist.h"

using namespace weir::record_test;
using weir::record::build_vod_playlist;
using weir::record::scan_segment_file;
using weir::record::SegmentFile;

namespace {

std::vector<SegmentFile> scan_all(const std::vector<std::string>& paths) {
  std::vector<SegmentFile> out;
  for (const auto& p : paths) {
    auto s = scan_segment_file(p);
    REQUIRE(s.is_ok());
    out.push_back(std::move(*s));
  }
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("VOD playlist over 3 segments points into them and decodes", "[record]") {
  TempDir dir;
  // Audio frames that would overlap the next segment (the clip's AAC runs
  // 43 ms past its 2 s of video) are left out: a recording's segments do
  // not overlap, and ffmpeg's HLS demuxer drops an overlapping frame.
  std::vector<MediaPacket> pkts;
  for (const auto& p : flv_packets("h264_aac.flv")) {
    if (p.is_config() || !p.is_audio() || p.dts + 24 <= 2000) pkts.push_back(p);
  }
  std::vector<std::string> paths;
  size_t video = 0, audio = 0;
  for (int i = 0; i < 3; ++i) {
    Segment s = make_segment(pkts, i == 2 ? 9000 : 2000 * i, 200);
    paths.push_back(dir.file("seg" + std::to_string(i) + ".mp4"));
    write_file(paths.back(), {bv(s.bytes)});
    video += s.video;
    audio += s.audio;
  }
  auto segs = scan_all(paths);
  weir::record::VodPlaylistOptions opts;
  opts.target_duration_s = 0.9;
  auto text = build_vod_playlist(segs, opts);
  REQUIRE(text.is_ok());
  INFO(*text);
  CHECK(text->rfind("#EXTM3U\n#EXT-X-VERSION:7\n", 0) == 0);
  CHECK(count(*text, "#EXT-X-PLAYLIST-TYPE:VOD") == 1);
  CHECK(count(*text, "#EXT-X-INDEPENDENT-SEGMENTS") == 1);
  CHECK(text->find("#EXT-X-ENDLIST\n") == text->size() - 15);
  CHECK(count(*text, "#EXT-X-MAP:URI=\"seg0.mp4\",BYTERANGE=\"" +
                         std::to_string(segs[0].scan.init_size) + "@0\"") == 1);
  CHECK(count(*text, "#EXT-X-MAP:") == 3);
  CHECK(count(*text, "#EXT-X-DISCONTINUITY") == 1);  // the 5 s pause only
  // Each run starts at an independent fragment; with GOP 1 s the runs are one GOP each.
  CHECK(count(*text, "#EXTINF:") == 6);
  std::regex extinf("#EXTINF:([0-9]+\\.[0-9]{3}),\n#EXT-X-BYTERANGE:([0-9]+)@([0-9]+)\n(seg[0-9]\\.mp4)\n");
  double total = 0, max_inf = 0;
  for (auto it = std::sregex_iterator(text->begin(), text->end(), extinf); it != std::sregex_iterator(); ++it) {
    double d = std::stod((*it)[1]);
    total += d;
    max_inf = std::max(max_inf, d);
    uint64_t off = std::stoull((*it)[3]);
    bool starts_fragment = false;
    for (const auto& s : segs) {
      if (std::filesystem::path(s.path).filename() != (*it)[4].str()) continue;
      for (const auto& f : s.scan.fragments) starts_fragment |= f.offset == off && f.independent;
    }
    CHECK(starts_fragment);
  }
  CHECK(total == Approx(6.0).margin(0.15));
  CHECK(count(*text, "#EXT-X-TARGETDURATION:" + std::to_string(int(std::ceil(max_inf))) + "\n") == 1);

  const std::string m3u8 = dir.file("index.m3u8");
  std::ofstream(m3u8) << *text;
  CHECK(ffmpeg_errors(m3u8, "-allowed_extensions ALL") == "");
  CmdResult r = run("ffprobe -v error -allowed_extensions ALL -count_frames -show_entries stream=codec_type,nb_read_frames "
                    "-of compact=p=0 '" + m3u8 + "'");
  CHECK(r.output.find("codec_type=video|nb_read_frames=" + std::to_string(video)) != std::string::npos);
  CHECK(r.output.find("codec_type=audio|nb_read_frames=" + std::to_string(audio)) != std::string::npos);
}

TEST_CASE("VOD playlist: audio-only runs, merge writes it too, empty input fails", "[record]") {
  TempDir dir;
  auto pkts = only(flv_packets("h264_aac.flv"), core::TrackType::kAudio);
  Segment s = make_segment(pkts, 0, 250);
  write_file(dir.file("a.mp4"), {bv(s.bytes)});
  weir::record::MergeRequest req;
  req.segments = {dir.file("a.mp4")};
  req.output = dir.file("a_merged.mp4");
  req.playlist = dir.file("index.m3u8");
  req.playlist_target_duration_s = 0.5;
  auto r = weir::record::merge_segments(req);
  REQUIRE(r.is_ok());
  auto text = read_file(req.playlist);
  std::string t(text.begin(), text.end());
  INFO(t);
  CHECK(count(t, "#EXTINF:") >= 3);  // ~2 s in runs of >= 0.5 s, each fragment independent
  CHECK(ffmpeg_errors(req.playlist, "-allowed_extensions ALL") == "");

  CHECK(!build_vod_playlist({}).is_ok());
}
