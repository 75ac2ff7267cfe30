// HTTP Range requests (RFC 9110 §14) for a resource of known size: what a
// file or VOD handler answers to a `Range` header value.
//
// Supported: one byte range - "bytes=a-b", "bytes=a-", "bytes=-n" (the unit
// is case-insensitive; optional whitespace is allowed around the value and
// around the commas of the list, nowhere else, as the grammar says).
// Weir answers a request for several ranges with the whole representation
// (200) rather than multipart/byteranges, which RFC 9110 §14.2 allows (a
// server may ignore Range); players ask for one range.
//
// What the caller does with each kind:
//   kNone          200 with the full body (no header, an empty value, a unit
//                  other than bytes, several ranges).
//   kSatisfiable   206, Content-Range: content_range(first, last, size), body
//                  bytes first..last inclusive (length() of them).
//   kUnsatisfiable 416, Content-Range: content_range_unsatisfied(size).
//   kMalformed     200 with the full body: RFC 9110 §14.2 has the server
//                  ignore a Range it cannot parse. Kept apart from kNone so the
//                  caller may count or log it.
//
// Numbers of any length are accepted; one past 2^64-1 compares as larger
// than any size (so "bytes=0-99999999999999999999999" is the whole file and
// "bytes=99999999999999999999999-" is unsatisfiable): no overflow.
//
// Pure functions, any thread, no allocation but the returned strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weir::protocol {

struct HttpRange {
  enum class Kind { kNone, kSatisfiable, kUnsatisfiable, kMalformed };
  Kind kind = Kind::kNone;
  uint64_t first = 0;  // kSatisfiable only: first byte
  uint64_t last = 0;   // kSatisfiable only: last byte, inclusive, < size
  uint64_t length() const { return kind == Kind::kSatisfiable ? last - first + 1 : 0; }
};

// `value` is the Range header's field value (empty when absent); `size` the
// representation's length in bytes. For size 0 every byte range is
// kUnsatisfiable except a non-zero suffix ("bytes=-5"), which is kNone: the
// whole (empty) body with 200, as no Content-Range can describe it.
HttpRange parse_http_range(std::string_view value, uint64_t size);

// "bytes 0-499/1234" (requires first <= last < size).
std::string content_range(uint64_t first, uint64_t last, uint64_t size);
// "bytes */1234", for 416.
std::string content_range_unsatisfied(uint64_t size);

}  // namespace weir::protocol
