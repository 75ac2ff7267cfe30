#include <catch2/catch.hpp>

#include <cstring>
#include <memory>

#include <malloc.h>

#include <random>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_chunk_writer.h"
#include "protocol/rtmp_messages.h"

using namespace weir;
using namespace weir::protocol;

namespace {

using Bytes = std::vector<uint8_t>;

struct Expect {
  uint32_t csid;
  uint8_t type_id;
  uint32_t stream_id;
  int64_t timestamp;
  Bytes payload;
};

Bytes payload_of(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7 + (i >> 8));
  return b;
}

Bytes view_bytes(core::ByteView v) { return Bytes(v.begin(), v.end()); }

void put(Bytes& out, core::ByteView v) { out.insert(out.end(), v.begin(), v.end()); }
void put(Bytes& out, std::initializer_list<int> v) {
  for (int b : v) out.push_back(uint8_t(b));
}

enum class Split { kWhole, kOneByte, kRandom };

struct Feeder {
  explicit Feeder(ChunkReaderLimits limits = {}) : reader(limits) {}
  ChunkReader reader;
  std::vector<RtmpMessage> got;

  core::Status feed(const Bytes& data, Split split, uint32_t seed = 1) {
    auto cb = [this](RtmpMessage&& m) {
      got.push_back(std::move(m));
      return core::Status::ok();
    };
    if (split == Split::kWhole) return reader.feed(core::ByteView(data.data(), data.size()), cb);
    std::mt19937 rng(seed);
    size_t pos = 0;
    while (pos < data.size()) {
      size_t n = 1;
      if (split == Split::kRandom) n = std::uniform_int_distribution<size_t>(0, 300)(rng);
      n = std::min(n, data.size() - pos);
      // Each piece in its own allocation, as socket reads are: a reader that
      // touches bytes outside the piece it was given reads other memory here
      // (and ASan reports it), instead of the neighbouring input bytes.
      std::unique_ptr<uint8_t[]> piece(new uint8_t[n + 8]);
      std::memset(piece.get(), 0xEE, n + 8);
      std::memcpy(piece.get() + 4, data.data() + pos, n);
      if (auto st = reader.feed(core::ByteView(piece.get() + 4, n), cb); !st) return st;
      pos += n;
    }
    return core::Status::ok();
  }
};

void check_messages(const std::vector<RtmpMessage>& got, const std::vector<Expect>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("message " << i);
    CHECK(got[i].csid == want[i].csid);
    CHECK(int(got[i].type_id) == int(want[i].type_id));
    CHECK(got[i].stream_id == want[i].stream_id);
    CHECK(got[i].timestamp == want[i].timestamp);
    CHECK(got[i].payload.size() == want[i].payload.size());
    CHECK(view_bytes(got[i].payload.view()) == want[i].payload);
  }
}

// fmt 0 header (basic + 11 bytes [+ ext]) built by hand.
void fmt0(Bytes& out, uint32_t csid, uint32_t ts, uint32_t len, uint8_t type, uint32_t sid) {
  uint8_t h[kRtmpMaxFmt0HeaderSize];
  size_t n = write_fmt0_header(h, csid, ts, len, type, sid);
  put(out, core::ByteView(h, n));
}

std::string feed_error(Feeder& f, const Bytes& data) {
  auto st = f.feed(data, Split::kWhole);
  REQUIRE_FALSE(st.is_ok());
  return st.message();
}

}  // namespace

TEST_CASE("writer to reader round trip across chunk sizes and split patterns", "[rtmp_chunk]") {
  const uint32_t chunk_sizes[] = {1, 128, 4096, 65536, 0xFFFFFF};
  for (uint32_t cs : chunk_sizes) {
    for (Split split : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
      INFO("chunk size " << cs << " split " << int(split));
      ChunkWriter w;  // starts at 128
      core::ByteWriter out;
      std::vector<Expect> want;
      // Announce the chunk size at 128, then switch.
      Bytes scs = {uint8_t(cs >> 24), uint8_t(cs >> 16), uint8_t(cs >> 8), uint8_t(cs)};
      w.write(out, 2, rtmp_type::kSetChunkSize, 0, 0, core::ByteView(scs.data(), 4));
      want.push_back({2, rtmp_type::kSetChunkSize, 0, 0, scs});
      w.set_chunk_size(cs);
      struct M {
        uint32_t csid;
        uint8_t type;
        uint32_t sid;
        int64_t ts;
        size_t len;
      };
      const M msgs[] = {
          {3, rtmp_type::kCommandAmf0, 0, 0, 0},
          {4, rtmp_type::kAudio, 1, 10, 1},
          {6, rtmp_type::kVideo, 1, 20, 127},
          {6, rtmp_type::kVideo, 1, 40, 128},
          {4, rtmp_type::kAudio, 1, 41, 129},
          {64, rtmp_type::kVideo, 1, 0xFFFFFE, 5000},
          {319, rtmp_type::kVideo, 1, 0xFFFFFF, 70000},
          {320, rtmp_type::kAudio, 1, 0x1000000, 300},
          {65599, rtmp_type::kDataAmf0, 7, 0x7FFFFFFF, 20000},
      };
      uint8_t seed = 1;
      for (const M& m : msgs) {
        Bytes p = payload_of(m.len, seed++);
        w.write(out, m.csid, m.type, m.sid, m.ts, core::ByteView(p.data(), p.size()));
        want.push_back({m.csid, m.type, m.sid, m.ts, p});
      }
      Bytes data = view_bytes(out.view());
      Feeder f;
      REQUIRE(f.feed(data, split, cs).is_ok());
      check_messages(f.got, want);
      CHECK(f.reader.chunk_size() == cs);
      CHECK(f.reader.bytes_received() == data.size());
      CHECK(f.reader.incomplete_messages() == 0);
    }
  }
}

TEST_CASE("chunked_size matches what write produces", "[rtmp_chunk]") {
  ChunkWriter w;
  for (uint32_t cs : {1u, 100u, 128u, 4096u}) {
    w.set_chunk_size(cs);
    for (size_t len : {0, 1, 99, 100, 128, 129, 1000}) {
      for (uint32_t csid : {2u, 64u, 320u}) {
        for (int64_t ts : {int64_t(0), int64_t(0xFFFFFF), int64_t(0x1FFFFFFFF)}) {
          core::ByteWriter out;
          Bytes p(len, 0xAB);
          w.write(out, csid, 9, 1, ts, core::ByteView(p.data(), p.size()));
          CHECK(out.size() == w.chunked_size(csid, uint32_t(ts), len));
        }
      }
    }
  }
}

TEST_CASE("header writers produce the spec bytes for all csid forms", "[rtmp_chunk]") {
  uint8_t h[kRtmpMaxFmt0HeaderSize];
  size_t n = write_fmt0_header(h, 3, 0x123456, 0x000102, 20, 0x01020304);
  CHECK(view_bytes(core::ByteView(h, n)) ==
        Bytes({0x03, 0x12, 0x34, 0x56, 0x00, 0x01, 0x02, 0x14, 0x04, 0x03, 0x02, 0x01}));
  n = write_fmt0_header(h, 64, 0x01000000, 5, 9, 1);
  CHECK(view_bytes(core::ByteView(h, n)) == Bytes({0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00,
                                                  0x05, 0x09, 0x01, 0x00, 0x00, 0x00, 0x01,
                                                  0x00, 0x00, 0x00}));
  n = write_fmt3_header(h, 319, 5);
  CHECK(view_bytes(core::ByteView(h, n)) == Bytes({0xC0, 0xFF}));
  n = write_fmt3_header(h, 320, 5);
  CHECK(view_bytes(core::ByteView(h, n)) == Bytes({0xC1, 0x00, 0x01}));
  n = write_fmt3_header(h, 65599, 0xFFFFFF);
  CHECK(view_bytes(core::ByteView(h, n)) == Bytes({0xC1, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF}));
  n = write_fmt3_header(h, 63, 0);
  CHECK(view_bytes(core::ByteView(h, n)) == Bytes({0xFF}));
}

TEST_CASE("interleaved chunk streams", "[rtmp_chunk]") {
  Bytes a = payload_of(300, 1), b = payload_of(200, 99);
  Bytes d;
  fmt0(d, 4, 100, 300, rtmp_type::kAudio, 1);
  put(d, core::ByteView(a.data(), 128));
  fmt0(d, 6, 200, 200, rtmp_type::kVideo, 1);
  put(d, core::ByteView(b.data(), 128));
  put(d, {0xC4});
  put(d, core::ByteView(a.data() + 128, 128));
  put(d, {0xC6});
  put(d, core::ByteView(b.data() + 128, 72));
  put(d, {0xC4});
  put(d, core::ByteView(a.data() + 256, 44));
  for (Split s : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    Feeder f;
    REQUIRE(f.feed(d, s).is_ok());
    check_messages(f.got, {{6, rtmp_type::kVideo, 1, 200, b}, {4, rtmp_type::kAudio, 1, 100, a}});
  }
}

TEST_CASE("fmt 1, 2 and 3 headers apply deltas", "[rtmp_chunk]") {
  Bytes d;
  fmt0(d, 4, 1000, 3, rtmp_type::kAudio, 1);
  put(d, {1, 2, 3});
  put(d, {0x44, 0x00, 0x00, 20, 0x00, 0x00, 4, rtmp_type::kVideo});  // fmt 1: delta 20, len 4
  put(d, {4, 5, 6, 7});
  put(d, {0x84, 0x00, 0x00, 30});  // fmt 2: delta 30
  put(d, {8, 9, 10, 11});
  put(d, {0xC4});  // fmt 3 new message: delta 30 again
  put(d, {12, 13, 14, 15});
  // fmt 3 after fmt 0 uses the fmt 0 timestamp as the delta (Flash/FMLE; SRS, FFmpeg).
  fmt0(d, 5, 26, 1, rtmp_type::kAudio, 1);
  put(d, {16});
  put(d, {0xC5, 17});
  for (Split s : {Split::kWhole, Split::kOneByte}) {
    Feeder f;
    REQUIRE(f.feed(d, s).is_ok());
    check_messages(f.got, {
                              {4, rtmp_type::kAudio, 1, 1000, {1, 2, 3}},
                              {4, rtmp_type::kVideo, 1, 1020, {4, 5, 6, 7}},
                              {4, rtmp_type::kVideo, 1, 1050, {8, 9, 10, 11}},
                              {4, rtmp_type::kVideo, 1, 1080, {12, 13, 14, 15}},
                              {5, rtmp_type::kAudio, 1, 26, {16}},
                              {5, rtmp_type::kAudio, 1, 52, {17}},
                          });
  }
}

TEST_CASE("extended timestamps", "[rtmp_chunk]") {
  SECTION("on fmt 3 continuation chunks (Flash / FFmpeg style)") {
    Bytes p = payload_of(300, 5);
    Bytes d;
    fmt0(d, 6, 0x01000000, 300, rtmp_type::kVideo, 1);
    put(d, core::ByteView(p.data(), 128));
    put(d, {0xC6, 0x01, 0x00, 0x00, 0x00});
    put(d, core::ByteView(p.data() + 128, 128));
    put(d, {0xC6, 0x01, 0x00, 0x00, 0x00});
    put(d, core::ByteView(p.data() + 256, 44));
    for (Split s : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
      Feeder f;
      REQUIRE(f.feed(d, s).is_ok());
      check_messages(f.got, {{6, rtmp_type::kVideo, 1, 0x01000000, p}});
    }
  }
  SECTION("missing on fmt 3 continuation chunks (old librtmp / nginx-rtmp style)") {
    Bytes p = payload_of(300, 5);
    p[128] = 0x55;  // the bytes after the fmt 3 header are not the timestamp
    Bytes d;
    fmt0(d, 6, 0x01000000, 300, rtmp_type::kVideo, 1);
    put(d, core::ByteView(p.data(), 128));
    put(d, {0xC6});
    put(d, core::ByteView(p.data() + 128, 128));
    put(d, {0xC6});
    put(d, core::ByteView(p.data() + 256, 44));
    for (Split s : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
      Feeder f;
      REQUIRE(f.feed(d, s).is_ok());
      check_messages(f.got, {{6, rtmp_type::kVideo, 1, 0x01000000, p}});
    }
  }
  SECTION("extended delta on fmt 1, repeated by fmt 3 new messages") {
    Bytes d;
    fmt0(d, 7, 100, 1, rtmp_type::kVideo, 1);
    put(d, {0xAA});
    put(d, {0x47, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x02, rtmp_type::kVideo, 0x01, 0x00, 0x00, 0x00});
    put(d, {0xBB, 0xCC});
    put(d, {0xC7, 0x01, 0x00, 0x00, 0x00, 0xDD, 0xEE});  // new message: ext delta again
    Feeder f;
    REQUIRE(f.feed(d, Split::kOneByte).is_ok());
    check_messages(f.got, {{7, rtmp_type::kVideo, 1, 100, {0xAA}},
                           {7, rtmp_type::kVideo, 1, 100 + 0x01000000, {0xBB, 0xCC}},
                           {7, rtmp_type::kVideo, 1, 100 + 2 * 0x01000000, {0xDD, 0xEE}}});
  }
}

TEST_CASE("32-bit timestamp wrap extends to 64 bits", "[rtmp_chunk]") {
  Bytes d;
  fmt0(d, 4, 0xFFFFFF00u, 1, rtmp_type::kAudio, 1);
  put(d, {1});
  put(d, {0x84, 0x00, 0x02, 0x00});  // fmt 2, delta 0x200: wraps to 0x100
  put(d, {2});
  put(d, {0xC4, 3});                 // fmt 3: +0x200 again
  fmt0(d, 4, 0xFFFFFFF0u, 1, rtmp_type::kAudio, 1);  // small step back across the wrap
  put(d, {4});
  fmt0(d, 4, 0x10, 1, rtmp_type::kAudio, 1);  // absolute, forward across the wrap again
  put(d, {5});
  // A separate chunk stream starting low and jumping "back" past zero does not go negative.
  fmt0(d, 5, 5, 1, rtmp_type::kVideo, 1);
  put(d, {6});
  fmt0(d, 5, 0xFFFFFFF0u, 1, rtmp_type::kVideo, 1);
  put(d, {7});
  Feeder f;
  REQUIRE(f.feed(d, Split::kRandom).is_ok());
  REQUIRE(f.got.size() == 7);
  CHECK(f.got[0].timestamp == 0xFFFFFF00ll);
  CHECK(f.got[1].timestamp == 0x100000100ll);
  CHECK(f.got[2].timestamp == 0x100000300ll);
  CHECK(f.got[3].timestamp == 0xFFFFFFF0ll);
  CHECK(f.got[4].timestamp == 0x100000010ll);
  CHECK(f.got[5].timestamp == 5);
  CHECK(f.got[6].timestamp == 0xFFFFFFF0ll);
}

TEST_CASE("set chunk size mid-stream", "[rtmp_chunk]") {
  ChunkWriter w;
  core::ByteWriter out;
  Bytes small = payload_of(200, 1);
  w.write(out, 4, rtmp_type::kAudio, 1, 0, core::ByteView(small.data(), small.size()));
  out.bytes(make_set_chunk_size(128, 0x7FFFFFFF).view());  // acts like 0xFFFFFF
  w.set_chunk_size(0xFFFFFF);
  Bytes big = payload_of(100000, 2);
  w.write(out, 6, rtmp_type::kVideo, 1, 40, core::ByteView(big.data(), big.size()));
  out.bytes(make_set_chunk_size(0xFFFFFF, 4096).view());
  w.set_chunk_size(4096);
  w.write(out, 6, rtmp_type::kVideo, 1, 80, core::ByteView(big.data(), big.size()));
  Bytes data = view_bytes(out.view());
  for (Split s : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    Feeder f;
    REQUIRE(f.feed(data, s).is_ok());
    check_messages(f.got, {{4, rtmp_type::kAudio, 1, 0, small},
                           {2, rtmp_type::kSetChunkSize, 0, 0, {0x7F, 0xFF, 0xFF, 0xFF}},
                           {6, rtmp_type::kVideo, 1, 40, big},
                           {2, rtmp_type::kSetChunkSize, 0, 0, {0x00, 0x00, 0x10, 0x00}},
                           {6, rtmp_type::kVideo, 1, 80, big}});
    CHECK(f.reader.chunk_size() == 4096);
  }
}

TEST_CASE("invalid set chunk size values", "[rtmp_chunk]") {
  for (uint32_t v : {0u, 0x80000000u, 0xFFFFFFFFu}) {
    Feeder f;
    Bytes d;
    fmt0(d, 2, 0, 4, rtmp_type::kSetChunkSize, 0);
    put(d, {int(v >> 24), int((v >> 16) & 0xFF), int((v >> 8) & 0xFF), int(v & 0xFF)});
    CHECK_THAT(feed_error(f, d), Catch::Contains("invalid chunk size " + std::to_string(v)));
  }
  Feeder f;
  Bytes d;
  fmt0(d, 2, 0, 2, rtmp_type::kSetChunkSize, 0);
  put(d, {0, 1});
  CHECK_THAT(feed_error(f, d), Catch::Contains("set chunk size payload of 2 bytes"));
}

TEST_CASE("abort drops the partial message of that chunk stream", "[rtmp_chunk]") {
  Bytes p = payload_of(300, 3);
  Bytes d;
  fmt0(d, 5, 10, 300, rtmp_type::kVideo, 1);
  put(d, core::ByteView(p.data(), 128));
  Feeder f;
  REQUIRE(f.feed(d, Split::kWhole).is_ok());
  CHECK(f.reader.incomplete_messages() == 1);
  d.clear();
  put(d, make_abort(128, 5).view());
  REQUIRE(f.feed(d, Split::kOneByte).is_ok());
  CHECK(f.reader.incomplete_messages() == 0);
  REQUIRE(f.got.size() == 1);
  CHECK(int(f.got[0].type_id) == rtmp_type::kAbort);
  // A fresh fmt 0 message on csid 5 is now fine (it would be an error mid-message).
  d.clear();
  fmt0(d, 5, 20, 2, rtmp_type::kVideo, 1);
  put(d, {9, 9});
  REQUIRE(f.feed(d, Split::kWhole).is_ok());
  REQUIRE(f.got.size() == 2);
  CHECK(view_bytes(f.got[1].payload.view()) == Bytes({9, 9}));
  CHECK(f.got[1].timestamp == 20);
}

TEST_CASE("zero-length messages", "[rtmp_chunk]") {
  Bytes d;
  fmt0(d, 3, 7, 0, rtmp_type::kDataAmf0, 1);
  put(d, {0xC3});  // fmt 3: another empty message, delta 7
  fmt0(d, 3, 9, 1, rtmp_type::kDataAmf0, 1);
  put(d, {0x42});
  Feeder f;
  REQUIRE(f.feed(d, Split::kOneByte).is_ok());
  check_messages(f.got, {{3, rtmp_type::kDataAmf0, 1, 7, {}},
                         {3, rtmp_type::kDataAmf0, 1, 14, {}},
                         {3, rtmp_type::kDataAmf0, 1, 9, {0x42}}});
  CHECK(f.got[0].payload.empty());
}

TEST_CASE("librtmp's fmt 1 on a fresh csid 2 is accepted", "[rtmp_chunk]") {
  // 0x42: fmt 1, csid 2; ping request user control message.
  Bytes d = {0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x04, 0x00, 0x06, 0x00, 0x00, 0x0D, 0x0F};
  Feeder f;
  REQUIRE(f.feed(d, Split::kWhole).is_ok());
  REQUIRE(f.got.size() == 1);
  CHECK(f.got[0].stream_id == 0);
  CHECK(int(f.got[0].type_id) == rtmp_type::kUserControl);
  auto uc = parse_user_control(f.got[0]);
  REQUIRE(uc.is_ok());
  CHECK(uc->event == UserControlEvent::kPingRequest);
  CHECK(uc->value == 0x0D0F);
}

TEST_CASE("chunk reader errors", "[rtmp_chunk]") {
  SECTION("fmt 1/2/3 without a previous header") {
    for (uint8_t first : {uint8_t(0x43), uint8_t(0x83), uint8_t(0xC3), uint8_t(0x82)}) {
      Feeder f;
      Bytes d = {first, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0};
      CHECK_THAT(feed_error(f, d), Catch::Contains("with no previous header"));
    }
  }
  SECTION("message length above max_message_size") {
    Feeder f(ChunkReaderLimits{.max_message_size = 1000});
    Bytes d;
    fmt0(d, 4, 0, 1001, rtmp_type::kVideo, 1);
    CHECK(feed_error(f, d) ==
          "rtmp chunk: message length 1001 exceeds max_message_size 1000 (chunk stream 4, type 9)");
    // The reader stays failed.
    CHECK_FALSE(f.reader.feed(core::ByteView(), [](RtmpMessage&&) { return core::Status::ok(); }));
  }
  SECTION("fmt 1 length above max_message_size") {
    Feeder f(ChunkReaderLimits{.max_message_size = 1000});
    Bytes d;
    fmt0(d, 4, 0, 1, rtmp_type::kVideo, 1);
    put(d, {0});
    put(d, {0x44, 0, 0, 0, 0x01, 0x00, 0x00, 8});
    CHECK_THAT(feed_error(f, d), Catch::Contains("message length 65536 exceeds"));
  }
  SECTION("too many incomplete messages") {
    Feeder f(ChunkReaderLimits{.max_message_size = 0xFFFFFF, .max_incomplete_messages = 2});
    Bytes d;
    for (uint32_t csid : {4u, 5u, 6u}) {
      fmt0(d, csid, 0, 1000, rtmp_type::kVideo, 1);
      Bytes p(128, 1);
      put(d, core::ByteView(p.data(), p.size()));
    }
    CHECK(feed_error(f, d) ==
          "rtmp chunk: more than 2 chunk streams hold incomplete messages (csid 6)");
  }
  SECTION("too many chunk streams") {
    Feeder f(ChunkReaderLimits{.max_chunk_streams = 3});
    Bytes d;
    for (uint32_t csid : {3u, 4u, 5u, 6u}) fmt0(d, csid, 0, 0, rtmp_type::kDataAmf0, 1);
    CHECK_THAT(feed_error(f, d), Catch::Contains("more than 3 chunk streams in use (csid 6)"));
    CHECK(f.got.size() == 3);
  }
  SECTION("new header in the middle of a message") {
    Feeder f;
    Bytes d;
    fmt0(d, 4, 0, 300, rtmp_type::kVideo, 1);
    Bytes p(128, 1);
    put(d, core::ByteView(p.data(), p.size()));
    fmt0(d, 4, 0, 10, rtmp_type::kVideo, 1);
    CHECK_THAT(feed_error(f, d), Catch::Contains("fmt 0 header on chunk stream 4 while its message "
                                                 "is incomplete (128 of 300 bytes)"));
  }
  SECTION("abort with a short payload") {
    Feeder f;
    Bytes d;
    fmt0(d, 2, 0, 1, rtmp_type::kAbort, 0);
    put(d, {5});
    CHECK_THAT(feed_error(f, d), Catch::Contains("abort payload of 1 bytes"));
  }
  SECTION("callback error stops parsing and sticks") {
    Bytes d;
    fmt0(d, 4, 0, 1, rtmp_type::kAudio, 1);
    put(d, {1});
    fmt0(d, 4, 0, 1, rtmp_type::kAudio, 1);
    put(d, {2});
    ChunkReader r;
    int calls = 0;
    auto cb = [&](RtmpMessage&&) {
      ++calls;
      return core::Status::error("stop here");
    };
    auto st = r.feed(core::ByteView(d.data(), d.size()), cb);
    CHECK(st.message() == "stop here");
    CHECK(calls == 1);
    CHECK(r.failed());
    CHECK(r.feed(core::ByteView(d.data(), d.size()), cb).message() == "stop here");
    CHECK(calls == 1);
  }
}

TEST_CASE("declared lengths do not allocate up front", "[rtmp_chunk]") {
  // 16 chunk streams each declaring a 16 MiB message but sending 128 bytes.
  Feeder f;
  Bytes d;
  for (uint32_t csid = 3; csid < 19; ++csid) {
    fmt0(d, csid, 0, 0xFFFFFF, rtmp_type::kVideo, 1);
    Bytes p(128, 1);
    put(d, core::ByteView(p.data(), p.size()));
  }
  struct mallinfo2 before = mallinfo2();
  REQUIRE(f.feed(d, Split::kWhole).is_ok());
  struct mallinfo2 after = mallinfo2();
  size_t used_before = before.uordblks + before.hblkhd;
  size_t used_after = after.uordblks + after.hblkhd;
  CHECK(f.reader.incomplete_messages() == 16);
  // 16 x 64 KiB initial reserves at most, plus bookkeeping.
  CHECK(used_after - used_before < 2 * 1024 * 1024);
}

TEST_CASE("partial messages are capped per reader and across readers", "[rtmp_chunk]") {
  // Two messages, each sent up to 300 KiB of its 1 MiB: the buffers grow as
  // bytes arrive (64 KiB, 128, 256, 512 KiB) and are counted as they grow.
  auto partial = [](uint32_t csid, size_t sent) {
    Bytes d;
    fmt0(d, csid, 0, 1 << 20, rtmp_type::kVideo, 1);
    Bytes p(sent, 7);
    put(d, core::ByteView(p.data(), p.size()));
    return d;
  };
  auto set_chunk = [] {
    Bytes d;
    fmt0(d, 2, 0, 4, rtmp_type::kSetChunkSize, 0);
    put(d, {0x00, 0x04, 0xB0, 0x00});  // 300 KiB chunks: a partial message ends on a chunk boundary
    return d;
  };
  auto rest_of = [](uint32_t csid) {  // the remaining chunks of a message sent 300 KiB in
    Bytes d;
    for (size_t left = (1 << 20) - 300 * 1024; left > 0;) {
      size_t n = std::min<size_t>(left, 300 * 1024);
      put(d, {int(0xC0 | csid)});
      Bytes p(n, 7);
      put(d, core::ByteView(p.data(), p.size()));
      left -= n;
    }
    return d;
  };
  SECTION("one reader over its own cap") {
    Feeder f(ChunkReaderLimits{.max_message_size = 1 << 20, .max_buffered_bytes = 768 * 1024});
    REQUIRE(f.feed(set_chunk(), Split::kWhole));
    REQUIRE(f.feed(partial(4, 300 * 1024), Split::kRandom));
    CHECK(f.reader.buffered_bytes() == 512 * 1024);  // 64 KiB doubled as small reads came in
    CHECK_THAT(feed_error(f, partial(5, 300 * 1024)),
               Catch::Contains("over this session's cap of 786432 (chunk stream 5)"));
  }
  SECTION("a shared budget across two readers, given back as messages complete or readers go") {
    core::MemoryBudget budget(500 * 1024);
    ChunkReaderLimits limits{.max_message_size = 1 << 20, .max_buffered_bytes = 64 << 20, .shared = &budget};
    auto a = std::make_unique<Feeder>(limits);
    auto b = std::make_unique<Feeder>(limits);
    REQUIRE(a->feed(set_chunk(), Split::kWhole));
    REQUIRE(b->feed(set_chunk(), Split::kWhole));
    REQUIRE(a->feed(partial(4, 300 * 1024), Split::kWhole));
    CHECK(budget.used() == 300 * 1024);  // one read: the buffer grew to what arrived
    auto st = b->feed(partial(4, 300 * 1024), Split::kWhole);
    REQUIRE_FALSE(st);
    CHECK_THAT(st.message(), Catch::Contains("process-wide reassembly budget of 512000 bytes is used up"));
    CHECK(budget.refused() == 1);
    CHECK(budget.used() == 300 * 1024 + 64 * 1024);  // b's first 64 KiB fitted, its growth did not
    b.reset();
    CHECK(budget.used() == 300 * 1024);
    a.reset();
    CHECK(budget.used() == 0);
    // A completed message is the caller's: its bytes leave the budget.
    core::MemoryBudget roomy(4 << 20);
    limits.shared = &roomy;
    Feeder c(limits);
    REQUIRE(c.feed(set_chunk(), Split::kWhole));
    REQUIRE(c.feed(partial(4, 300 * 1024), Split::kRandom));
    CHECK(roomy.used() > 0);
    REQUIRE(c.feed(rest_of(4), Split::kRandom));
    REQUIRE(c.got.size() == 2);  // set chunk size, then the 1 MiB video message
    CHECK(c.got[1].payload.size() == 1 << 20);
    CHECK(c.reader.buffered_bytes() == 0);
    CHECK(roomy.used() == 0);
  }
}

TEST_CASE("payload slices outlive the reader", "[rtmp_chunk]") {
  core::Slice kept;
  {
    ChunkReader r;
    Bytes d;
    fmt0(d, 4, 0, 3, rtmp_type::kAudio, 1);
    put(d, {7, 8, 9});
    REQUIRE(r.feed(core::ByteView(d.data(), d.size()), [&](RtmpMessage&& m) {
                kept = m.payload;
                return core::Status::ok();
              }).is_ok());
  }
  CHECK(view_bytes(kept.view()) == Bytes({7, 8, 9}));
}
