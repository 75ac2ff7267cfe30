#include <catch2/catch.hpp>

#include <string>

#include "protocol/http_range.h"

using namespace weir::protocol;
using Kind = HttpRange::Kind;

namespace {

void satisfiable(std::string_view v, uint64_t size, uint64_t first, uint64_t last) {
  INFO(std::string(v) << " size " << size);
  auto r = parse_http_range(v, size);
  REQUIRE(r.kind == Kind::kSatisfiable);
  CHECK(r.first == first);
  CHECK(r.last == last);
  CHECK(r.length() == last - first + 1);
}

Kind kind(std::string_view v, uint64_t size = 10000) { return parse_http_range(v, size).kind; }

}  // namespace

TEST_CASE("http range: the RFC 9110 §14.1.2 examples on a 10000-byte representation") {
  satisfiable("bytes=0-499", 10000, 0, 499);     // the first 500 bytes
  satisfiable("bytes=500-999", 10000, 500, 999);  // the second 500 bytes
  satisfiable("bytes=-500", 10000, 9500, 9999);   // the final 500 bytes
  satisfiable("bytes=9500-", 10000, 9500, 9999);  // the final 500 bytes
  satisfiable("bytes=0-0", 10000, 0, 0);          // the first byte
  satisfiable("bytes=-1", 10000, 9999, 9999);     // the last byte
  satisfiable("bytes=0-", 10000, 0, 9999);
  // Several ranges: Weir sends the whole body.
  CHECK(kind("bytes=0-0,-1") == Kind::kNone);
  CHECK(kind("bytes=500-600,601-999") == Kind::kNone);
  CHECK(kind("bytes=500-700,601-999") == Kind::kNone);
}

TEST_CASE("http range: clamping, suffixes longer than the body, unsatisfiable ranges") {
  satisfiable("bytes=0-99999", 1000, 0, 999);
  satisfiable("bytes=999-1000", 1000, 999, 999);
  satisfiable("bytes=-5000", 1000, 0, 999);
  CHECK(kind("bytes=1000-", 1000) == Kind::kUnsatisfiable);
  CHECK(kind("bytes=1000-2000", 1000) == Kind::kUnsatisfiable);
  CHECK(kind("bytes=-0", 1000) == Kind::kUnsatisfiable);
  CHECK(kind("bytes=-000", 1000) == Kind::kUnsatisfiable);
}

TEST_CASE("http range: size 0") {
  CHECK(kind("bytes=0-", 0) == Kind::kUnsatisfiable);
  CHECK(kind("bytes=0-0", 0) == Kind::kUnsatisfiable);
  CHECK(kind("bytes=-0", 0) == Kind::kUnsatisfiable);
  CHECK(kind("bytes=-5", 0) == Kind::kNone);  // the whole empty body, 200
  CHECK(kind("", 0) == Kind::kNone);
}

TEST_CASE("http range: numbers past 64 bits never overflow") {
  satisfiable("bytes=0-18446744073709551615", 100, 0, 99);   // 2^64-1
  satisfiable("bytes=0-18446744073709551616", 100, 0, 99);   // 2^64
  satisfiable("bytes=0-99999999999999999999999999999", 100, 0, 99);
  satisfiable("bytes=-99999999999999999999999999999", 100, 0, 99);
  satisfiable("bytes=9223372036854775808-", UINT64_MAX, 9223372036854775808ull, UINT64_MAX - 1);  // 2^63
  CHECK(kind("bytes=99999999999999999999999-") == Kind::kUnsatisfiable);
  CHECK(kind("bytes=18446744073709551616-18446744073709551617") == Kind::kUnsatisfiable);
  // Exact comparison of huge numbers: last < first is invalid even past 2^64.
  CHECK(kind("bytes=18446744073709551617-18446744073709551616") == Kind::kMalformed);
  CHECK(kind("bytes=99999999999999999999999999998-99999999999999999999999999999") == Kind::kUnsatisfiable);
  // Leading zeros are digits like any other.
  satisfiable("bytes=0000000000000000000000000000001-0000000000000000000000000000002", 100, 1, 2);
}

TEST_CASE("http range: whitespace, case, empty list elements") {
  satisfiable("  bytes=1-2\t", 100, 1, 2);
  satisfiable("Bytes=1-2", 100, 1, 2);
  satisfiable("BYTES=1-2", 100, 1, 2);
  satisfiable("bytes=1-2 ,", 100, 1, 2);
  satisfiable("bytes=,1-2", 100, 1, 2);
  satisfiable("bytes=, ,1-2,,", 100, 1, 2);
  CHECK(kind("bytes=1-2 , 3-4") == Kind::kNone);
  CHECK(kind("bytes = 1-2") == Kind::kMalformed);
  CHECK(kind("bytes= 1-2") == Kind::kMalformed);
  CHECK(kind("bytes=1 -2") == Kind::kMalformed);
  CHECK(kind("bytes=1- 2") == Kind::kMalformed);
}

TEST_CASE("http range: absent, ignorable and malformed headers") {
  CHECK(kind("") == Kind::kNone);
  CHECK(kind("   ") == Kind::kNone);
  CHECK(kind("items=0-5") == Kind::kNone);  // unknown unit: ignored
  CHECK(kind("none=") == Kind::kNone);
  for (const char* bad : {"bytes", "bytes=", "bytes=,", "bytes=-", "bytes=--1", "bytes=1", "bytes=a-b", "bytes=1-a",
                          "bytes=5-4", "bytes=+1-2", "bytes=0x10-", "bytes=1-2-3", "bytes=1-2;", "=0-1",
                          "by tes=0-1", "bytes=0-1,x", "bytes=0-1,5-4", "bytes=1.5-2"})
    CHECK(kind(bad) == Kind::kMalformed);
  CHECK(kind(std::string_view("bytes=0-1\0", 10)) == Kind::kMalformed);
}

TEST_CASE("http range: Content-Range values") {
  CHECK(content_range(0, 499, 1234) == "bytes 0-499/1234");
  CHECK(content_range(0, UINT64_MAX - 1, UINT64_MAX) == "bytes 0-18446744073709551614/18446744073709551615");
  CHECK(content_range_unsatisfied(1234) == "bytes */1234");
  CHECK(content_range_unsatisfied(0) == "bytes */0");
}
