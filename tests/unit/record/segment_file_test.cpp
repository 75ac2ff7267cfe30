// Segment files on disk: scanning with pread, and crash recovery by trimming
// to the valid prefix.
#include "record_test_support.h"

#include "record/segment_file.h"

using namespace weir::record_test;
using weir::record::scan_segment_file;
using weir::record::trim_segment;

TEST_CASE("segment file scan reads the tables; a crash-cut file is trimmed to scan clean",
          "[record]") {
  TempDir dir;
  Segment seg = make_segment(flv_packets("h264_aac.flv"), 0, 300);
  const std::string path = dir.file("seg.mp4");
  write_file(path, {bv(seg.bytes)});
  auto full = scan_segment_file(path);
  REQUIRE(full.is_ok());
  CHECK(full->scan.valid_bytes == seg.bytes.size());
  CHECK(full->scan.tracks[0].samples.size() == seg.video);
  CHECK(full->scan.tracks[1].samples.size() == seg.audio);
  CHECK(full->scan.fragments.size() == seg.fragments);

  // Cut points: inside every fragment's moof, mdat header and mdat payload.
  std::vector<uint64_t> cuts;
  for (const auto& f : full->scan.fragments) {
    for (uint64_t d : {uint64_t(1), uint64_t(7), uint64_t(20)}) cuts.push_back(f.offset + d);
    cuts.push_back(f.end() - 1);
    cuts.push_back(f.end());
  }
  for (uint64_t cut : cuts) {
    INFO("cut " << cut);
    write_file(path, {ByteView(seg.bytes.data(), size_t(cut))});
    auto s = scan_segment_file(path);
    REQUIRE(s.is_ok());
    uint64_t expect = full->scan.init_size;
    for (const auto& f : full->scan.fragments) {
      if (f.end() <= cut) expect = f.end();
    }
    CHECK(s->scan.valid_bytes == expect);
    CHECK(s->scan.tail.empty() == (expect == cut));
    REQUIRE(trim_segment(path, s->scan.valid_bytes).is_ok());
    CHECK(std::filesystem::file_size(path) == expect);
    auto again = scan_segment_file(path);
    REQUIRE(again.is_ok());
    CHECK(again->scan.tail.empty());
    CHECK(again->scan.sample_count() == s->scan.sample_count());
  }

  // A partial init is an error; trimming never grows a file.
  write_file(path, {ByteView(seg.bytes.data(), 100)});
  auto partial = scan_segment_file(path);
  REQUIRE(!partial.is_ok());
  CHECK(partial.error().find("init incomplete") != std::string::npos);
  CHECK(!trim_segment(path, 200).is_ok());
  CHECK(!scan_segment_file(dir.file("missing.mp4")).is_ok());
}
