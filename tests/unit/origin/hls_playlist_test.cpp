// The pure playlist renderers (origin/hls/playlist.h) over hand-built
// segments: exact tag text for the MPEG-TS playlist (live, delay, event,
// vod) and the LL-HLS playlist (parts, preload hint, delta updates).
#include <catch2/catch.hpp>

#include <deque>
#include <string>

#include "origin/hls/playlist.h"

using namespace weir;
using namespace weir::origin::hls;

namespace {

// 2023-11-14T22:13:20.000Z
constexpr int64_t kT0 = 1700000000000;

core::Slice bytes(size_t n = 16) {
  std::string s(n, 'x');
  return core::Slice::copy_of(core::as_bytes(s));
}

// A complete segment with TS and fMP4 bytes; `parts` part durations (ms),
// the first one independent.
Segment complete(uint64_t msn, int64_t pdt_ms, double duration_ms, std::vector<double> parts = {}) {
  Segment s;
  s.msn = msn;
  s.pdt_ms = pdt_ms;
  s.duration_ms = duration_ms;
  s.complete = true;
  s.ts = bytes();
  s.ts_size = s.ts.size();
  s.fmp4 = bytes();
  for (size_t i = 0; i < parts.size(); ++i) s.parts.push_back(Part{bytes(), parts[i], i == 0});
  return s;
}

Segment open_segment(uint64_t msn, int64_t pdt_ms, std::vector<double> parts) {
  Segment s;
  s.msn = msn;
  s.pdt_ms = pdt_ms;
  for (size_t i = 0; i < parts.size(); ++i) s.parts.push_back(Part{bytes(), parts[i], i == 0});
  return s;
}

// `n` consecutive complete segments of `ms` each, from msn `first` at kT0.
std::deque<Segment> run(uint64_t first, int n, double ms, std::vector<double> parts = {}) {
  std::deque<Segment> d;
  for (int i = 0; i < n; ++i) d.push_back(complete(first + i, kT0 + int64_t(i * ms), ms, parts));
  return d;
}

core::HlsConfig config(int window = 6, int part_ms = 300, bool ll = true) {
  core::HlsConfig c;
  c.window_segments = window;
  c.part_ms = part_ms;
  c.ll = ll;
  return c;
}

const std::string kStream = "s";

Rendered ts(const std::deque<Segment>& segs, const core::HlsConfig& cfg, TsPlaylistRequest req = {}, int target = 2,
            bool ended = false) {
  bool open = !segs.empty() && !segs.back().complete;
  return render_ts_playlist(PlaylistInput{segs, open, ended, target, cfg, kStream}, req);
}

Rendered ll(const std::deque<Segment>& segs, const core::HlsConfig& cfg, bool skip = false, int target = 1,
            bool ended = false) {
  bool open = !segs.empty() && !segs.back().complete;
  return render_ll_playlist(PlaylistInput{segs, open, ended, target, cfg, kStream}, skip);
}

std::string ts_entry(uint64_t msn, const std::string& pdt, const std::string& dur) {
  return "#EXT-X-PROGRAM-DATE-TIME:" + pdt + "\n#EXTINF:" + dur + ",\ns/seg" + std::to_string(msn) + ".ts\n";
}

std::string header(int version, int target, uint64_t msn, uint64_t disc) {
  return "#EXTM3U\n#EXT-X-VERSION:" + std::to_string(version) + "\n#EXT-X-TARGETDURATION:" +
         std::to_string(target) + "\n#EXT-X-MEDIA-SEQUENCE:" + std::to_string(msn) +
         "\n#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(disc) + "\n#EXT-X-INDEPENDENT-SEGMENTS\n";
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("iso8601_ms formats UTC with milliseconds") {
  CHECK(iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601_ms(kT0) == "2023-11-14T22:13:20.000Z");
  CHECK(iso8601_ms(kT0 + 123) == "2023-11-14T22:13:20.123Z");
  CHECK(iso8601_ms(kT0 + 86399999) == "2023-11-15T22:13:19.999Z");
}

TEST_CASE("TS live playlist: the last window_segments complete segments, exact tags") {
  auto segs = run(100, 8, 2000);
  segs[7].duration_ms = 1960.4;  // EXTINF has three decimals
  segs.push_back(open_segment(108, kT0 + 15960, {280}));  // not listed: incomplete
  Rendered r = ts(segs, config(6));
  REQUIRE(r.status == 200);
  std::string want = header(3, 2, 102, 0) + ts_entry(102, "2023-11-14T22:13:24.000Z", "2.000") +
                     ts_entry(103, "2023-11-14T22:13:26.000Z", "2.000") +
                     ts_entry(104, "2023-11-14T22:13:28.000Z", "2.000") +
                     ts_entry(105, "2023-11-14T22:13:30.000Z", "2.000") +
                     ts_entry(106, "2023-11-14T22:13:32.000Z", "2.000") +
                     ts_entry(107, "2023-11-14T22:13:34.000Z", "1.960");
  CHECK(r.body == want);

  SECTION("a window larger than the store lists everything") {
    Rendered all = ts(segs, config(20));
    CHECK(all.body.find("#EXT-X-MEDIA-SEQUENCE:100\n") != std::string::npos);
    CHECK(count(all.body, "#EXTINF:") == 8);
  }
  SECTION("an ended stream closes the playlist") {
    auto done = run(100, 3, 2000);
    Rendered e = ts(done, config(6), {}, 2, true);
    CHECK(e.body.ends_with("s/seg102.ts\n#EXT-X-ENDLIST\n"));
    CHECK(e.body.find("PLAYLIST-TYPE") == std::string::npos);
  }
}

TEST_CASE("TS playlist: segments without TS bytes are left out; none at all is a 404") {
  auto segs = run(1, 4, 1000);
  segs[1].ts = core::Slice();  // evicted
  segs[2].ts = core::Slice();  // spilled: on disk only
  segs[2].ts_path = "/tmp/x/seg3.ts";
  Rendered r = ts(segs, config(6), {}, 1);
  REQUIRE(r.status == 200);
  CHECK(r.body.find("s/seg2.ts") == std::string::npos);
  CHECK(r.body.find("s/seg3.ts") != std::string::npos);
  CHECK(count(r.body, "#EXTINF:") == 3);

  std::deque<Segment> none{open_segment(1, kT0, {280})};
  Rendered e = ts(none, config(6));
  CHECK(e.status == 404);
  CHECK(e.body == "no segment is ready yet");
  CHECK(ts({}, config(6)).status == 404);
}

TEST_CASE("TS playlist: EXT-X-DISCONTINUITY and DISCONTINUITY-SEQUENCE") {
  auto segs = run(10, 4, 1000);
  segs[2].discontinuity = true;
  segs[2].discontinuity_seq = 1;
  segs[3].discontinuity_seq = 1;
  Rendered r = ts(segs, config(6), {}, 1);
  CHECK(r.body == header(3, 1, 10, 0) + ts_entry(10, "2023-11-14T22:13:20.000Z", "1.000") +
                      ts_entry(11, "2023-11-14T22:13:21.000Z", "1.000") + "#EXT-X-DISCONTINUITY\n" +
                      ts_entry(12, "2023-11-14T22:13:22.000Z", "1.000") +
                      ts_entry(13, "2023-11-14T22:13:23.000Z", "1.000"));
  // Once the segment with the tag is the first listed, the tag goes and the
  // sequence number counts it.
  Rendered w = ts(segs, config(2), {}, 1);
  CHECK(w.body == header(3, 1, 12, 1) + ts_entry(12, "2023-11-14T22:13:22.000Z", "1.000") +
                      ts_entry(13, "2023-11-14T22:13:23.000Z", "1.000"));
}

TEST_CASE("TS playlist: EXT-X-KEY on every key change, METHOD=NONE back to clear") {
  auto segs = run(20, 5, 1000);
  segs[0].key_id = 1;
  segs[1].key_id = 1;
  segs[2].key_id = 2;
  segs[3].key_id = 2;
  segs[4].key_id = 0;
  Rendered r = ts(segs, config(6), {}, 1);
  CHECK(r.body == header(3, 1, 20, 0) + "#EXT-X-KEY:METHOD=AES-128,URI=\"s/key1.key\"\n" +
                      ts_entry(20, "2023-11-14T22:13:20.000Z", "1.000") +
                      ts_entry(21, "2023-11-14T22:13:21.000Z", "1.000") +
                      "#EXT-X-KEY:METHOD=AES-128,URI=\"s/key2.key\"\n" +
                      ts_entry(22, "2023-11-14T22:13:22.000Z", "1.000") +
                      ts_entry(23, "2023-11-14T22:13:23.000Z", "1.000") + "#EXT-X-KEY:METHOD=NONE\n" +
                      ts_entry(24, "2023-11-14T22:13:24.000Z", "1.000"));
  // A window starting inside key 2 opens with key 2.
  Rendered w = ts(segs, config(2), {}, 1);
  CHECK(w.body.find("#EXT-X-KEY:METHOD=AES-128,URI=\"s/key2.key\"\n#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:23") !=
        std::string::npos);
  CHECK(count(w.body, "#EXT-X-KEY") == 2);
}

TEST_CASE("TS delay playlist: the edge is `delay` behind now") {
  auto segs = run(0, 10, 2000);  // kT0 .. kT0 + 20 s
  TsPlaylistRequest req;
  req.mode = TsPlaylistRequest::Mode::kDelay;
  req.now_ms = kT0 + 20000;
  req.delay_s = 5;  // edge kT0 + 15 s: segments ending by then are 0..6
  Rendered r = ts(segs, config(6), req);
  REQUIRE(r.status == 200);
  CHECK(r.body.substr(0, header(3, 2, 1, 0).size()) == header(3, 2, 1, 0));
  CHECK(r.body.find("s/seg6.ts\n") != std::string::npos);
  CHECK(r.body.find("s/seg7.ts") == std::string::npos);
  CHECK(r.body.find("ENDLIST") == std::string::npos);
  CHECK(count(r.body, "#EXTINF:") == 6);

  req.delay_s = 6;  // edge kT0 + 14 s exactly: segment 6 ends there
  CHECK(ts(segs, config(6), req).body.find("s/seg6.ts\n") != std::string::npos);

  req.delay_s = 30;
  Rendered far = ts(segs, config(6), req);
  CHECK(far.status == 404);
  CHECK(far.body ==
        "delay 30s reaches before the buffer: the time-shift window is 1700000000.000 .. 1700000020.000 "
        "(unix seconds; 2023-11-14T22:13:20.000Z .. 2023-11-14T22:13:40.000Z)");
  req.delay_s = 18.5;  // edge kT0 + 1.5 s: no segment has ended by then
  CHECK(ts(segs, config(6), req).status == 404);
}

TEST_CASE("TS event playlist: from the segment containing start to the live edge") {
  auto segs = run(0, 10, 2000);
  TsPlaylistRequest req;
  req.mode = TsPlaylistRequest::Mode::kEvent;
  req.start_ms = kT0 + 5000;  // inside segment 2 (4 s .. 6 s)
  Rendered r = ts(segs, config(3), req);
  REQUIRE(r.status == 200);
  // Not limited to the window: everything from start.
  CHECK(r.body.substr(0, header(3, 2, 2, 0).size()) == header(3, 2, 2, 0));
  CHECK(r.body.find("#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z\n") !=
        std::string::npos);
  CHECK(count(r.body, "#EXTINF:") == 8);
  CHECK(r.body.find("ENDLIST") == std::string::npos);

  req.start_ms = kT0 + 4000;  // a segment boundary: that segment
  CHECK(ts(segs, config(3), req).body.find("#EXT-X-MEDIA-SEQUENCE:2\n") != std::string::npos);

  req.start_ms = kT0 - 1000;
  Rendered before = ts(segs, config(3), req);
  CHECK(before.status == 404);
  CHECK(before.body.rfind("start 1699999999.000 is outside the buffer: the time-shift window is 1700000000.000 .. "
                          "1700000020.000",
                          0) == 0);
  req.start_ms = kT0 + 20000;  // the end of the buffer: nothing from there
  CHECK(ts(segs, config(3), req).status == 404);
}

TEST_CASE("TS event playlist: start in a gap begins at the next segment") {
  std::deque<Segment> segs;
  segs.push_back(complete(0, kT0, 2000));
  segs.push_back(complete(1, kT0 + 3000, 2000));  // 1 s without media before it
  TsPlaylistRequest req;
  req.mode = TsPlaylistRequest::Mode::kEvent;
  req.start_ms = kT0 + 2500;
  Rendered r = ts(segs, config(6), req);
  REQUIRE(r.status == 200);
  CHECK(r.body.find("#EXT-X-MEDIA-SEQUENCE:1\n") != std::string::npos);
}

TEST_CASE("TS vod playlist: closed once end is covered, EVENT before") {
  auto segs = run(0, 10, 2000);
  TsPlaylistRequest req;
  req.mode = TsPlaylistRequest::Mode::kVod;
  req.start_ms = kT0 + 5000;
  req.end_ms = kT0 + 9000;  // inside segment 4
  Rendered r = ts(segs, config(6), req);
  REQUIRE(r.status == 200);
  CHECK(r.body == header(3, 2, 2, 0) + "#EXT-X-PLAYLIST-TYPE:VOD\n" +
                      ts_entry(2, "2023-11-14T22:13:24.000Z", "2.000") +
                      ts_entry(3, "2023-11-14T22:13:26.000Z", "2.000") +
                      ts_entry(4, "2023-11-14T22:13:28.000Z", "2.000") + "#EXT-X-ENDLIST\n");
  req.end_ms = kT0 + 8000;  // a boundary: segment 4 is not needed
  CHECK(count(ts(segs, config(6), req).body, "#EXTINF:") == 2);

  req.end_ms = kT0 + 25000;  // not reached yet
  Rendered open = ts(segs, config(6), req);
  CHECK(open.body.find("#EXT-X-PLAYLIST-TYPE:EVENT\n") != std::string::npos);
  CHECK(open.body.find("ENDLIST") == std::string::npos);
  CHECK(count(open.body, "#EXTINF:") == 8);
}

TEST_CASE("LL playlist: parts of the last three target durations, preload hint, exact tags") {
  const std::vector<double> parts{280, 280, 280, 160};
  auto segs = run(5, 5, 1000, parts);
  segs.push_back(open_segment(10, kT0 + 5000, {280, 280}));
  Rendered r = ll(segs, config(6, 300), false, 1);
  REQUIRE(r.status == 200);
  std::string want = header(9, 1, 5, 0) +
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.900,CAN-SKIP-UNTIL=6.0\n"
                     "#EXT-X-PART-INF:PART-TARGET=0.300\n"
                     "#EXT-X-MAP:URI=\"init0.mp4\"\n";
  for (int i = 0; i < 5; ++i) {
    uint64_t msn = 5 + i;
    want += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_ms(kT0 + i * 1000) + "\n";
    if (msn >= 7) {  // 7, 8, 9: the last three seconds
      std::string m = std::to_string(msn);
      want += "#EXT-X-PART:DURATION=0.280,URI=\"part" + m + ".0.m4s\",INDEPENDENT=YES\n";
      want += "#EXT-X-PART:DURATION=0.280,URI=\"part" + m + ".1.m4s\"\n";
      want += "#EXT-X-PART:DURATION=0.280,URI=\"part" + m + ".2.m4s\"\n";
      want += "#EXT-X-PART:DURATION=0.160,URI=\"part" + m + ".3.m4s\"\n";
    }
    want += "#EXTINF:1.000,\nseg" + std::to_string(msn) + ".m4s\n";
  }
  want += "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:25.000Z\n"
          "#EXT-X-PART:DURATION=0.280,URI=\"part10.0.m4s\",INDEPENDENT=YES\n"
          "#EXT-X-PART:DURATION=0.280,URI=\"part10.1.m4s\"\n"
          "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part10.2.m4s\"\n";
  CHECK(r.body == want);
}

TEST_CASE("LL playlist: hint after a complete segment, end of stream, LL off") {
  auto segs = run(1, 3, 1000, {500, 500});
  Rendered r = ll(segs, config(6, 500), false, 1);
  REQUIRE(r.status == 200);
  CHECK(r.body.ends_with("seg3.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part4.0.m4s\"\n"));
  CHECK(r.body.find("PART-HOLD-BACK=1.500") != std::string::npos);

  Rendered ended = ll(segs, config(6, 500), false, 1, true);
  CHECK(ended.body.ends_with("seg3.m4s\n#EXT-X-ENDLIST\n"));
  CHECK(ended.body.find("PRELOAD-HINT") == std::string::npos);

  Rendered off = ll(segs, config(6, 500, false), false, 1);
  CHECK(off.body.rfind(header(7, 1, 1, 0), 0) == 0);
  CHECK(off.body.find("SERVER-CONTROL") == std::string::npos);
  CHECK(off.body.find("PART") == std::string::npos);
  CHECK(count(off.body, "#EXTINF:") == 3);
}

TEST_CASE("LL playlist: window, dropped fMP4 bytes, new init, discontinuity") {
  auto segs = run(1, 8, 1000, {500, 500});
  segs[0].fmp4 = core::Slice();  // past the fMP4 slack: not listed
  segs[6].init_id = 1;
  segs[6].discontinuity = true;
  segs[6].discontinuity_seq = 1;
  segs[7].init_id = 1;
  segs[7].discontinuity_seq = 1;
  Rendered r = ll(segs, config(6, 500), false, 1);
  REQUIRE(r.status == 200);
  CHECK(r.body.rfind(header(9, 1, 3, 0), 0) == 0);  // the last 6 of the 7 listed
  CHECK(count(r.body, "#EXT-X-MAP:") == 2);
  CHECK(r.body.find("seg6.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init1.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:") !=
        std::string::npos);
  CHECK(r.body.find("seg2.m4s") == std::string::npos);

  std::deque<Segment> only_open{open_segment(1, kT0, {280})};
  Rendered e = ll(only_open, config());
  CHECK(e.status == 404);
  CHECK(e.body == "no segment is ready yet");
}

TEST_CASE("LL delta playlist: EXT-X-SKIP replaces segments older than CAN-SKIP-UNTIL") {
  auto segs = run(100, 12, 1000, {500, 500});
  segs.push_back(open_segment(112, kT0 + 12000, {500}));
  Rendered full = ll(segs, config(12, 500), false, 1);
  Rendered delta = ll(segs, config(12, 500), true, 1);
  REQUIRE(full.status == 200);
  REQUIRE(delta.status == 200);
  // 12 s of segments, CAN-SKIP-UNTIL 6 s: the first six go.
  std::string head = header(9, 1, 100, 0) +
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=6.0\n"
                     "#EXT-X-PART-INF:PART-TARGET=0.500\n";
  CHECK(delta.body.rfind(head + "#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n#EXT-X-MAP:URI=\"init0.mp4\"\n"
                                "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:26.000Z\n#EXTINF:1.000,\nseg106.m4s\n",
                         0) == 0);
  CHECK(count(delta.body, "#EXTINF:") == 6);
  // The rest is the full playlist's tail, byte for byte.
  size_t tail = full.body.find("#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:26.000Z");
  REQUIRE(tail != std::string::npos);
  CHECK(delta.body.substr(delta.body.find("#EXT-X-PROGRAM-DATE-TIME:")) == full.body.substr(tail));
  CHECK(full.body.find("EXT-X-SKIP") == std::string::npos);

  // A playlist no longer than CAN-SKIP-UNTIL skips nothing.
  auto few = run(1, 6, 1000, {500, 500});
  Rendered d = ll(few, config(12, 500), true, 1);
  CHECK(d.body.find("EXT-X-SKIP") == std::string::npos);
  CHECK(d.body == ll(few, config(12, 500), false, 1).body);
}
