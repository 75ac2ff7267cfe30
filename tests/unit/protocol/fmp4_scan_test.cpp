// fMP4 segment scan (protocol/fmp4_scan.h) on segment files made by
// Fmp4Muxer from real encoder output: sample tables against the in-memory
// reader, the crash-cut tail at every cut point, and the errors.
#include "fmp4_test_support.h"

#include "protocol/fmp4_scan.h"

using namespace weir::fmp4_test;

namespace {

// init + every fragment of a muxer run: what the recorder writes to a file.
std::vector<uint8_t> segment_file(const MuxOutput& out) {
  std::vector<ByteView> parts = {out.init.view()};
  for (size_t i = 0; i < out.segments.size(); ++i) {
    for (ByteView p : segment_bytes(out, i)) parts.push_back(p);
  }
  return join(parts);
}

}  // namespace

TEST_CASE("fmp4 scan of a recorded H.264 + AAC segment matches the reader", "[fmp4_scan]") {
  MuxOutput out = run_muxer(flv_packets("h264_aac.flv"), 500);
  auto file = segment_file(out);
  auto scan = scan_fmp4_bytes(bv(file));
  REQUIRE(scan.is_ok());
  CHECK(scan->file_size == file.size());
  CHECK(scan->valid_bytes == file.size());
  CHECK(scan->tail.empty());
  CHECK(scan->init_size == out.init.size());
  REQUIRE(scan->tracks.size() == 2);
  CHECK(scan->tracks[0].is_video());
  CHECK(scan->tracks[0].sample_entry == box_type("avc1"));
  CHECK(scan->tracks[0].timescale == 90000);
  CHECK(scan->tracks[1].is_audio());
  CHECK(scan->tracks[1].sample_entry == box_type("mp4a"));
  CHECK(scan->tracks[0].samples.size() == out.video_in.size());
  CHECK(scan->tracks[1].samples.size() == out.audio_in.size());
  // The stsd copy is the init's stsd box.
  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  CHECK(vec(init->tracks[0].stsd) == scan->tracks[0].stsd);
  CHECK(std::string(reinterpret_cast<const char*>(scan->tracks[0].stsd.data() + 4), 4) == "stsd");

  auto frags = parse_mp4_fragments(bv(file), &*init);
  REQUIRE(frags.is_ok());
  REQUIRE(frags->size() == scan->fragments.size());
  for (size_t i = 0; i < frags->size(); ++i) {
    const Mp4Fragment& f = (*frags)[i];
    const Fmp4ScanFragment& sf = scan->fragments[i];
    CHECK(sf.offset == f.offset);
    CHECK(sf.size == f.moof_size + f.mdat_size);
    CHECK(sf.sequence_number == f.sequence_number);
    REQUIRE(sf.runs.size() == f.tracks.size());
    bool first_video_sync = false, seen_video = false;
    for (size_t r = 0; r < f.tracks.size(); ++r) {
      const auto& run = f.tracks[r];
      const auto& sr = sf.runs[r];
      const auto& st = scan->tracks[sr.track_index];
      CHECK(st.track_id == run.track_id);
      REQUIRE(sr.sample_count == run.samples.size());
      for (size_t k = 0; k < run.samples.size(); ++k) {
        const Mp4Sample& a = run.samples[k];
        const Fmp4ScanSample& b = st.samples[sr.first_sample + k];
        CHECK(b.decode_time == a.decode_time);
        CHECK(b.duration == a.duration);
        CHECK(b.size == a.size);
        CHECK(b.flags == a.flags);
        CHECK(b.composition_offset == a.composition_offset);
        // The file offset is where the reader's view of the bytes points.
        CHECK(b.offset == uint64_t(a.data.data() - file.data()));
      }
      if (st.is_video() && !seen_video && !run.samples.empty()) {
        seen_video = true;
        first_video_sync = run.samples[0].is_sync();
      }
    }
    CHECK(sf.independent == first_video_sync);
  }
  CHECK(scan->fragments.front().independent);
}

TEST_CASE("fmp4 scan: a cut-short tail gives the valid prefix at every cut point", "[fmp4_scan]") {
  MuxOutput out = run_muxer(flv_packets("h264_aac.flv"), 300);
  auto file = segment_file(out);
  auto full = scan_fmp4_bytes(bv(file));
  REQUIRE(full.is_ok());
  std::vector<uint64_t> ends = {full->init_size};
  for (const auto& f : full->fragments) ends.push_back(f.end());
  for (size_t cut = 0; cut <= file.size(); ++cut) {
    INFO("cut at " << cut);
    auto scan = scan_fmp4_bytes(ByteView(file.data(), cut));
    if (cut < full->init_size) {
      // A partial init is an error, not a prefix.
      REQUIRE(!scan.is_ok());
      CHECK(scan.error().find("init incomplete") != std::string::npos);
      continue;
    }
    REQUIRE(scan.is_ok());
    // The last complete fragment ending at or before the cut.
    uint64_t expect = *std::prev(std::upper_bound(ends.begin(), ends.end(), uint64_t(cut)));
    CHECK(scan->valid_bytes == expect);
    CHECK(scan->fragments.size() == size_t(std::upper_bound(ends.begin(), ends.end(), uint64_t(cut)) - ends.begin() - 1));
    CHECK(scan->tail.empty() == (expect == cut));
    // The prefix alone scans clean and identical.
    auto again = scan_fmp4_bytes(ByteView(file.data(), size_t(scan->valid_bytes)));
    REQUIRE(again.is_ok());
    CHECK(again->tail.empty());
    CHECK(again->sample_count() == scan->sample_count());
  }
}

TEST_CASE("fmp4 scan: broken init and inconsistent complete fragments are errors", "[fmp4_scan]") {
  MuxOutput out = run_muxer(flv_packets("h264_aac.flv"), 500);
  auto file = segment_file(out);
  auto full = scan_fmp4_bytes(bv(file));
  REQUIRE(full.is_ok());
  const auto& f0 = full->fragments[0];

  SECTION("no moov") {
    auto frag_only = std::vector<uint8_t>(file.begin() + ptrdiff_t(f0.offset), file.end());
    auto s = scan_fmp4_bytes(bv(frag_only));
    REQUIRE(!s.is_ok());
    CHECK(s.error().find("moof") != std::string::npos);
  }
  SECTION("a traf for a track the moov lacks") {
    auto bad = file;
    // tfhd track_id: moof(8) mfhd(16) traf(8) tfhd header(12) -> id.
    size_t at = size_t(f0.offset) + 8 + 16 + 8 + 12;
    REQUIRE(std::string(reinterpret_cast<char*>(&bad[at - 8]), 4) == "tfhd");
    bad[at + 3] = 9;
    auto s = scan_fmp4_bytes(bv(bad));
    REQUIRE(!s.is_ok());
    CHECK(s.error().find("traf") != std::string::npos);
  }
  SECTION("samples beyond their mdat") {
    auto bad = file;
    // Shrink the first fragment's mdat by 4 and put a 'free' box after it: both complete.
    uint64_t moof_size = uint64_t(bad[f0.offset]) << 24 | uint64_t(bad[f0.offset + 1]) << 16 |
                         uint64_t(bad[f0.offset + 2]) << 8 | bad[f0.offset + 3];
    size_t m = size_t(f0.offset + moof_size);
    REQUIRE(std::string(reinterpret_cast<char*>(&bad[m + 4]), 4) == "mdat");
    uint32_t msize = uint32_t(bad[m]) << 24 | uint32_t(bad[m + 1]) << 16 | uint32_t(bad[m + 2]) << 8 | bad[m + 3];
    msize -= 8;
    bad[m] = uint8_t(msize >> 24);
    bad[m + 1] = uint8_t(msize >> 16);
    bad[m + 2] = uint8_t(msize >> 8);
    bad[m + 3] = uint8_t(msize);
    size_t fr = m + msize;
    const uint8_t free_box[8] = {0, 0, 0, 8, 'f', 'r', 'e', 'e'};
    std::copy(free_box, free_box + 8, bad.begin() + ptrdiff_t(fr));
    auto s = scan_fmp4_bytes(bv(bad));
    REQUIRE(!s.is_ok());
    CHECK(s.error().find("trun") != std::string::npos);
  }
  SECTION("caps") {
    Fmp4ScanLimits limits;
    limits.max_samples = 10;
    auto s = scan_fmp4_bytes(bv(file), limits);
    REQUIRE(!s.is_ok());
    limits = {};
    limits.max_moof_bytes = 64;
    CHECK(!scan_fmp4_bytes(bv(file), limits).is_ok());
  }
}

TEST_CASE("fmp4 scan: audio-only fragments are all independent, HEVC and Opus inits", "[fmp4_scan]") {
  auto audio = only(flv_packets("h264_aac.flv"), core::TrackType::kAudio);
  MuxOutput out = run_muxer(audio, 300, 300);
  auto file = segment_file(out);
  auto scan = scan_fmp4_bytes(bv(file));
  REQUIRE(scan.is_ok());
  REQUIRE(scan->tracks.size() == 1);
  CHECK(scan->tracks[0].track_id == 1);
  CHECK(scan->fragments.size() > 2);
  for (const auto& f : scan->fragments) CHECK(f.independent);

  MuxOutput hevc = run_muxer(mp4_packets("hevc_aac_frag.mp4"), 500);
  auto hfile = segment_file(hevc);
  auto hs = scan_fmp4_bytes(bv(hfile));
  REQUIRE(hs.is_ok());
  CHECK(hs->tracks[0].sample_entry == box_type("hvc1"));
  CHECK(hs->tracks[0].samples.size() == hevc.video_in.size());
  bool any_cto = false;
  for (const auto& s : hs->tracks[0].samples) any_cto |= s.composition_offset != 0;
  CHECK(any_cto);

  MuxOutput opus = run_muxer(mp4_packets("av1_opus_frag.mp4", true), 500);
  auto ofile = segment_file(opus);
  auto os = scan_fmp4_bytes(bv(ofile));
  REQUIRE(os.is_ok());
  CHECK(os->tracks[1].sample_entry == box_type("Opus"));
  CHECK(os->tracks[1].samples.size() == opus.audio_in.size());
}

// Not run by default: writes the fuzz seeds (tests/fuzz/corpus/fmp4_scan/)
// when WEIR_FMP4_SCAN_CORPUS names the directory. Small segments (< 50 KB):
// H.264 + AAC, audio only, and one cut short inside its last fragment.
TEST_CASE("fmp4 scan fuzz seeds", "[.corpus]") {
  const char* dir = std::getenv("WEIR_FMP4_SCAN_CORPUS");
  REQUIRE(dir != nullptr);
  auto pkts = flv_packets("h264_aac.flv");
  std::vector<MediaPacket> short_av;
  for (const auto& p : pkts) {
    if (p.is_config() || p.dts < 600) short_av.push_back(p);
  }
  auto av = segment_file(run_muxer(short_av, 200));
  auto audio = segment_file(run_muxer(only(pkts, core::TrackType::kAudio), 300, 300));
  auto cut = av;
  cut.resize(cut.size() - 100);
  for (auto [name, bytes] : {std::pair{"h264_aac.mp4", &av}, std::pair{"aac_only.mp4", &audio},
                             std::pair{"h264_aac_cut.mp4", &cut}}) {
    CHECK(bytes->size() < 50 * 1024);
    write_file(std::string(dir) + "/" + name, {bv(*bytes)});
  }
}
