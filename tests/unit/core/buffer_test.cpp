#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "core/buffer.h"
#include "core/byte_reader.h"

using namespace weir::core;

TEST_CASE("ByteWriter builds big-endian fields and freezes without copying") {
  ByteWriter w(4);
  w.u8(0x01);
  w.u16be(0x0203);
  w.u24be(0x040506);
  w.u32be(0x0708090A);
  w.u32le(0x0D0C0B0A);
  w.bytes(std::string_view("xy"));
  REQUIRE(w.size() == 16);
  const uint8_t* before = w.view().data();
  Slice s = w.finish();
  REQUIRE(s.size() == 16);
  CHECK(s.data() == before);  // finish hands the buffer over
  CHECK(w.size() == 0);
  const uint8_t expect[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x0A, 0x0B, 0x0C, 0x0D, 'x', 'y'};
  CHECK(std::equal(s.view().begin(), s.view().end(), std::begin(expect)));
}

TEST_CASE("ByteWriter back-patches lengths") {
  ByteWriter w;
  w.u24be(0);
  w.u32be(0);
  w.patch_u24be(0, 0xABCDEF);
  w.patch_u32be(3, 0x11223344);
  ByteReader r(w.view());
  uint32_t a = 0, b = 0;
  REQUIRE(r.u24be(a));
  REQUIRE(r.u32be(b));
  CHECK(a == 0xABCDEF);
  CHECK(b == 0x11223344);
}

TEST_CASE("Slice shares the buffer and clamps sub-ranges") {
  Slice s = Slice::copy_of(as_bytes("hello world"));
  CHECK(s.buffer()->ref_count() == 1);
  Slice w = s.sub(6);
  CHECK(as_chars(w.view()) == "world");
  CHECK(s.buffer()->ref_count() == 2);
  CHECK(as_chars(s.sub(6, 100).view()) == "world");
  CHECK(s.sub(100).empty());
  CHECK(as_chars(w.sub(1, 3).view()) == "orl");
  {
    Slice copy = w;
    CHECK(s.buffer()->ref_count() == 3);
  }
  CHECK(s.buffer()->ref_count() == 2);
}

TEST_CASE("ByteReader never reads past the end") {
  const uint8_t data[] = {0x12, 0x34, 0x56};
  ByteReader r(ByteView(data, 3));
  uint32_t v32 = 7;
  CHECK_FALSE(r.u32be(v32));
  CHECK(v32 == 7);
  CHECK(r.position() == 0);  // a failed read consumes nothing
  uint16_t v16 = 0;
  REQUIRE(r.u16be(v16));
  CHECK(v16 == 0x1234);
  ByteView rest;
  CHECK_FALSE(r.bytes(2, rest));
  REQUIRE(r.bytes(1, rest));
  CHECK(rest[0] == 0x56);
  CHECK(r.empty());
  uint8_t b;
  CHECK_FALSE(r.u8(b));
  CHECK_FALSE(r.skip(1));
}

TEST_CASE("f64 round trip is exact") {
  ByteWriter w;
  w.f64be(1935.25);
  w.f64be(-0.0);
  ByteReader r(w.view());
  double a, b;
  REQUIRE(r.f64be(a));
  REQUIRE(r.f64be(b));
  CHECK(a == 1935.25);
  CHECK(std::signbit(b));
}

TEST_CASE("memfd buffers hold a sealed copy of the bytes") {
  std::vector<uint8_t> a(100000), b(3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(i * 7);
  b = {1, 2, 3};
  const ByteView pieces[] = {ByteView(a), ByteView(), ByteView(b)};
  Ref<Buffer> m = Buffer::memfd_join(pieces);
  REQUIRE(m->fd() >= 0);
  REQUIRE(m->size() == a.size() + b.size());
  CHECK(std::memcmp(m->data(), a.data(), a.size()) == 0);
  CHECK(std::memcmp(m->data() + a.size(), b.data(), b.size()) == 0);
  // The file is the same bytes, and nobody can change them any more.
  std::vector<uint8_t> back(m->size());
  CHECK(::pread(m->fd(), back.data(), back.size(), 0) == ssize_t(back.size()));
  CHECK(std::memcmp(back.data(), m->data(), back.size()) == 0);
  int seals = ::fcntl(m->fd(), F_GET_SEALS);
  CHECK((seals & F_SEAL_WRITE) != 0);
  CHECK((seals & F_SEAL_SHRINK) != 0);
  CHECK(::pwrite(m->fd(), "x", 1, 0) < 0);

  Slice s(m);
  CHECK(s.sub(5, 10).buffer()->fd() == m->fd());
  CHECK(Buffer::memfd_copy_of(ByteView())->fd() == -1);
  CHECK(Buffer::copy_of(ByteView(b))->fd() == -1);
}
