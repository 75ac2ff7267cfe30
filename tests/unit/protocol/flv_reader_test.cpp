// FlvReader (incremental FLV stream parser) and the FLV writer helpers, on a
// real ffmpeg-made FLV (data/h264_aac.flv, see flv_tag_test.cpp) and on
// hand-made streams for every error path.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"
#include "protocol/flv_writer.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;

namespace {

using weir::test::load;

ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }
std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

struct Collected {
  uint8_t type;
  int64_t ts;
  std::vector<uint8_t> body;
  bool operator==(const Collected&) const = default;
};

// Feeds `data` in chunks of the given sizes (cycled) and returns the tags.
core::Status feed_chunks(FlvReader& reader, ByteView data, const std::vector<size_t>& chunks,
                         std::vector<Collected>& out) {
  size_t pos = 0, i = 0;
  auto cb = [&](const FlvTag& t) {
    out.push_back({t.type, t.timestamp_ms, vec(t.body.view())});
    return core::Status::ok();
  };
  while (pos < data.size()) {
    size_t n = std::min(chunks[i++ % chunks.size()], data.size() - pos);
    core::Status s = reader.feed(data.subspan(pos, n), cb);
    if (!s) return s;
    pos += n;
  }
  return core::Status::ok();
}

std::vector<uint8_t> make_stream(const std::vector<Collected>& tags, bool audio = true,
                                 bool video = true) {
  core::ByteWriter w;
  write_flv_header(w, audio, video);
  for (const auto& t : tags) write_tag(w, t.type, t.ts, bv(t.body));
  return vec(w.view());
}

}  // namespace

TEST_CASE("FlvReader reads the real ffmpeg file in one piece", "[flv_reader]") {
  auto file = load("h264_aac.flv");
  FlvReader reader(FlvReaderOptions{});
  std::vector<Collected> tags;
  REQUIRE(feed_chunks(reader, bv(file), {file.size()}, tags).is_ok());
  REQUIRE(tags.size() == 142);
  CHECK(reader.tag_count() == 142);
  CHECK(reader.bytes_consumed() == file.size());
  CHECK(reader.at_tag_boundary());
  REQUIRE(reader.header_done());
  CHECK(reader.header().version == 1);
  CHECK(reader.header().has_audio);
  CHECK(reader.header().has_video);
  CHECK(reader.header().data_offset == 9);

  CHECK(tags[0].type == kFlvTagScript);
  CHECK(tags[0].body.size() == 293);
  CHECK(tags[1].type == kFlvTagVideo);
  CHECK(tags[1].body.size() == 50);
  CHECK(tags[1].body[0] == 0x17);
  CHECK(tags[1].body[1] == 0x00);
  CHECK(tags[2].type == kFlvTagAudio);
  CHECK(tags[2].body == std::vector<uint8_t>{0xAF, 0x00, 0x12, 0x10, 0x56, 0xE5, 0x00});
  int audio = 0, video = 0;
  int64_t last_video_ts = -1;
  for (const auto& t : tags) {
    audio += t.type == kFlvTagAudio;
    if (t.type == kFlvTagVideo) {
      ++video;
      CHECK(t.ts >= last_video_ts);
      last_video_ts = t.ts;
    }
  }
  CHECK(audio == 89);
  CHECK(video == 52);
  CHECK(last_video_ts == 1960);

  // Writing the tags back reproduces ffmpeg's bytes exactly.
  CHECK(make_stream(tags) == file);
}

TEST_CASE("FlvReader handles input split at any byte", "[flv_reader]") {
  auto file = load("h264_aac.flv");
  FlvReader whole(FlvReaderOptions{});
  std::vector<Collected> expect;
  REQUIRE(feed_chunks(whole, bv(file), {file.size()}, expect).is_ok());

  SECTION("one byte at a time") {
    FlvReader r(FlvReaderOptions{});
    std::vector<Collected> got;
    REQUIRE(feed_chunks(r, bv(file), {1}, got).is_ok());
    CHECK(got == expect);
  }
  SECTION("split at every position into two parts") {
    // The first 2000 bytes cover the header, script tag, both sequence headers
    // and the start of the first keyframe; check every split point there.
    for (size_t cut = 0; cut <= 2000; ++cut) {
      FlvReader r(FlvReaderOptions{});
      std::vector<Collected> got;
      REQUIRE(feed_chunks(r, bv(file), {cut ? cut : 1, file.size()}, got).is_ok());
      REQUIRE(got.size() == expect.size());
    }
  }
  SECTION("random chunk sizes") {
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
      std::vector<size_t> chunks;
      for (int i = 0; i < 64; ++i) chunks.push_back(1 + rng() % 700);
      FlvReader r(FlvReaderOptions{});
      std::vector<Collected> got;
      REQUIRE(feed_chunks(r, bv(file), chunks, got).is_ok());
      CHECK(got == expect);
    }
  }
  SECTION("empty feeds are harmless") {
    FlvReader r(FlvReaderOptions{});
    std::vector<Collected> got;
    auto cb = [&](const FlvTag& t) {
      got.push_back({t.type, t.timestamp_ms, vec(t.body.view())});
      return core::Status::ok();
    };
    CHECK(r.feed({}, cb).is_ok());
    CHECK(r.feed(bv(file), cb).is_ok());
    CHECK(r.feed({}, cb).is_ok());
    CHECK(got == expect);
  }
}

TEST_CASE("FlvReader: extended timestamps, empty bodies, DataOffset > 9", "[flv_reader]") {
  std::vector<Collected> tags = {
      {kFlvTagVideo, 0x12345678, {0x17, 0x01, 0, 0, 0, 0xAA}},
      {kFlvTagAudio, 0xFFFFFFFF, {}},
      {kFlvTagScript, 16777216, {0x02, 0x00, 0x00}},
  };
  auto stream = make_stream(tags);
  // Tag header bytes of the first tag: low 24 bits then the extended byte.
  CHECK(vec(bv(stream).subspan(13 + 4, 4)) == std::vector<uint8_t>{0x34, 0x56, 0x78, 0x12});
  FlvReader r(1024);
  std::vector<Collected> got;
  REQUIRE(feed_chunks(r, bv(stream), {3}, got).is_ok());
  CHECK(got == tags);

  // write_tag wraps 64-bit times to the 32-bit FLV clock.
  core::ByteWriter w;
  write_tag(w, kFlvTagAudio, (int64_t(1) << 32) + 5, {});
  FlvReader r2(16);
  std::vector<uint8_t> hdr;
  {
    core::ByteWriter h;
    write_flv_header(h, true, false);
    hdr = vec(h.view());
  }
  CHECK(hdr == std::vector<uint8_t>{'F', 'L', 'V', 1, 4, 0, 0, 0, 9, 0, 0, 0, 0});
  hdr.insert(hdr.end(), w.view().begin(), w.view().end());
  std::vector<Collected> got2;
  REQUIRE(feed_chunks(r2, bv(hdr), {100}, got2).is_ok());
  REQUIRE(got2.size() == 1);
  CHECK(got2[0].ts == 5);

  // DataOffset 13: four extra header bytes are skipped.
  std::vector<uint8_t> big = {'F', 'L', 'V', 1, 5, 0, 0, 0, 13, 0xDE, 0xAD, 0xBE, 0xEF};
  auto body = make_stream(tags);
  big.insert(big.end(), body.begin() + 9, body.end());
  FlvReader r3(1024);
  std::vector<Collected> got3;
  REQUIRE(feed_chunks(r3, bv(big), {1}, got3).is_ok());
  CHECK(got3 == tags);
  CHECK(r3.header().data_offset == 13);
}

TEST_CASE("FlvReader: PreviousTagSize checks and the tolerate option", "[flv_reader]") {
  std::vector<Collected> tags = {{kFlvTagVideo, 0, {1, 2, 3}}, {kFlvTagVideo, 40, {4, 5}}};
  auto stream = make_stream(tags);
  // PreviousTagSize after the first tag is at 13 + 11 + 3.
  size_t at = 13 + 11 + 3;
  REQUIRE(stream[at + 3] == 14);
  stream[at + 3] = 15;
  {
    FlvReader r(1024);
    std::vector<Collected> got;
    auto s = feed_chunks(r, bv(stream), {7}, got);
    REQUIRE(!s.is_ok());
    CHECK(s.message() == "flv: PreviousTagSize 15 after tag 1 (type 9, 3 bytes) should be 14");
    CHECK(got.size() == 1);
    CHECK(r.failed());
    // The error sticks.
    CHECK(r.feed(bv(stream), [](const FlvTag&) { return core::Status::ok(); }).message() == s.message());
  }
  {
    FlvReaderOptions opt;
    opt.tolerate_bad_prev_tag_size = true;
    FlvReader r(opt);
    std::vector<Collected> got;
    REQUIRE(feed_chunks(r, bv(stream), {7}, got).is_ok());
    CHECK(got == tags);
  }
  auto bad0 = make_stream(tags);
  bad0[12] = 1;
  FlvReader r0(1024);
  std::vector<Collected> got0;
  CHECK(feed_chunks(r0, bv(bad0), {100}, got0).message() == "flv: PreviousTagSize0 is 1, should be 0");
}

TEST_CASE("FlvReader rejects bad streams with reasons", "[flv_reader]") {
  std::vector<Collected> tags = {{kFlvTagVideo, 0, {1, 2, 3}}};
  auto base = make_stream(tags);
  auto run = [](std::vector<uint8_t> s, uint32_t max = 1024) {
    FlvReader r(max);
    std::vector<Collected> got;
    return feed_chunks(r, bv(s), {5}, got).message();
  };
  auto s = base;
  s[0] = 'G';
  CHECK(run(s) == "flv header: bad signature 47 4c 56 (want \"FLV\")");
  s = base;
  s[8] = 5;
  CHECK(run(s) == "flv header: DataOffset 5 is smaller than the 9-byte header");
  s = base;
  s[5] = 0x10;
  CHECK(run(s) == "flv header: DataOffset 268435465 exceeds max_tag_size 1024");
  s = base;
  s[13] = 0x20 | 9;
  CHECK(run(s) == "flv tag 1: filter bit set (encrypted tags are unsupported)");
  s = base;
  s[13] = 0x40 | 9;
  CHECK(run(s) == "flv tag 1: reserved bits set in tag type byte 0x49");
  s = base;
  s[13] = 7;
  CHECK(run(s) == "flv tag 1: unknown tag type 7");
  CHECK(run(base, 2) == "flv tag 1: DataSize 3 exceeds max_tag_size 2");
  CHECK(run(base, 3) == "");

  // A callback error stops the reader and is returned.
  FlvReader r(1024);
  int calls = 0;
  auto st = r.feed(bv(base), [&](const FlvTag&) {
    ++calls;
    return core::Status::error("consumer full");
  });
  CHECK(st.message() == "consumer full");
  CHECK(calls == 1);
  CHECK(r.failed());

  // A stream cut mid-tag is not at a tag boundary.
  FlvReader cut(1024);
  std::vector<Collected> got;
  REQUIRE(feed_chunks(cut, bv(base).first(base.size() - 6), {4}, got).is_ok());
  CHECK(got.empty());
  CHECK(!cut.at_tag_boundary());
}

TEST_CASE("write_tag_header / write_prev_tag_size exact bytes", "[flv_reader]") {
  uint8_t h[11];
  write_tag_header(h, kFlvTagVideo, 0x010203, 0xAABBCCDD);
  CHECK(std::vector<uint8_t>(h, h + 11) ==
        std::vector<uint8_t>{0x09, 0x01, 0x02, 0x03, 0xBB, 0xCC, 0xDD, 0xAA, 0, 0, 0});
  uint8_t p[4];
  write_prev_tag_size(p, 0x0102030A);
  CHECK(std::vector<uint8_t>(p, p + 4) == std::vector<uint8_t>{1, 2, 3, 0x0A});
  core::ByteWriter w;
  write_flv_header(w, false, true);
  CHECK(w.view()[4] == 0x01);
}
