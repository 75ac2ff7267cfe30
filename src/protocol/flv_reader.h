// FlvReader: incremental parser for an FLV byte stream (file or HTTP-FLV).
//
// Ownership/threading: one reader per stream, used by one thread. feed() may be
// given the stream split at any byte; the reader keeps only the partial tag
// header it has seen and the body it is filling (allocated once per tag, at
// most max_tag_size bytes). Each completed tag is handed to the callback with
// an owned body Slice, so the callback may keep it.
//
// Checks: "FLV" signature, DataOffset >= 9 (extra header bytes are skipped),
// PreviousTagSize fields (PreviousTagSize0 == 0, then 11 + DataSize of the tag
// before; a mismatch is an error unless tolerate_bad_prev_tag_size is set,
// because some muxers write wrong values), tag type 8/9/18 only, filter bit
// (encrypted tags) rejected, reserved bits in the tag type byte rejected,
// DataSize <= max_tag_size. After an error (or a callback error) the reader is
// failed and every later feed() returns the same error.
#pragma once

#include <cstdint>
#include <functional>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

struct FlvTag {
  uint8_t type = 0;          // 8 audio, 9 video, 18 script data
  // Timestamp | TimestampExtended << 24, read as unsigned (0 .. 2^32-1): the
  // spec calls it SI32, but muxers (FFmpeg included) write it unsigned.
  int64_t timestamp_ms = 0;
  core::Slice body;          // tag body (DataSize bytes), owned
};

struct FlvHeader {
  uint8_t version = 0;
  bool has_audio = false;
  bool has_video = false;
  uint32_t data_offset = 0;
};

struct FlvReaderOptions {
  uint32_t max_tag_size = 0xFFFFFF;  // cap on DataSize (and on DataOffset)
  bool tolerate_bad_prev_tag_size = false;
};

class FlvReader {
 public:
  using Callback = std::function<core::Status(const FlvTag&)>;

  explicit FlvReader(uint32_t max_tag_size);
  explicit FlvReader(const FlvReaderOptions& options);

  // Consumes all of `data`, calling on_tag for every tag completed by it.
  // Returns the first error (parse error or callback error).
  core::Status feed(core::ByteView data, const Callback& on_tag);

  bool header_done() const { return state_ != State::kHeader && state_ != State::kSkipHeader; }
  const FlvHeader& header() const { return header_; }
  uint64_t tag_count() const { return tag_count_; }
  uint64_t bytes_consumed() const { return consumed_; }
  // True between tags (no partial tag buffered): a clean place for the stream to end.
  bool at_tag_boundary() const { return state_ == State::kTagHeader && have_ == 0; }
  bool failed() const { return !error_.is_ok(); }

 private:
  enum class State : uint8_t { kHeader, kSkipHeader, kPrevTagSize, kTagHeader, kBody };

  core::Status fail(core::Status s);
  core::Status on_header();
  core::Status on_prev_tag_size();
  core::Status on_tag_header();

  FlvReaderOptions options_;
  State state_ = State::kHeader;
  uint8_t hdr_[11] = {};
  size_t have_ = 0;      // bytes of hdr_ filled (header, prev size or tag header)
  uint32_t skip_ = 0;    // header bytes beyond the first 9 left to skip
  FlvHeader header_;
  uint32_t expected_prev_ = 0;
  uint8_t tag_type_ = 0;
  int64_t tag_ts_ = 0;
  uint32_t tag_size_ = 0;
  uint32_t body_have_ = 0;
  core::ByteWriter body_;
  uint8_t* body_dst_ = nullptr;
  uint64_t tag_count_ = 0;
  uint64_t consumed_ = 0;
  core::Status error_;
};

}  // namespace weir::protocol
