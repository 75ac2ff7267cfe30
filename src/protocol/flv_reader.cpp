#include "protocol/flv_reader.h"

#include <algorithm>
#include <cstring>

#include "protocol/flv_writer.h"

namespace weir::protocol {

using core::Status;

FlvReader::FlvReader(uint32_t max_tag_size) : FlvReader(FlvReaderOptions{max_tag_size, false}) {}

FlvReader::FlvReader(const FlvReaderOptions& options) : options_(options), body_(16) {}

Status FlvReader::fail(Status s) {
  error_ = s;
  return s;
}

Status FlvReader::on_header() {
  if (hdr_[0] != 'F' || hdr_[1] != 'L' || hdr_[2] != 'V') {
    return Status::errorf("flv header: bad signature {:02x} {:02x} {:02x} (want \"FLV\")", hdr_[0],
                          hdr_[1], hdr_[2]);
  }
  header_.version = hdr_[3];
  header_.has_audio = hdr_[4] & 0x04;
  header_.has_video = hdr_[4] & 0x01;
  header_.data_offset = uint32_t(hdr_[5]) << 24 | uint32_t(hdr_[6]) << 16 |
                        uint32_t(hdr_[7]) << 8 | hdr_[8];
  if (header_.data_offset < kFlvHeaderSize) {
    return Status::errorf("flv header: DataOffset {} is smaller than the 9-byte header",
                          header_.data_offset);
  }
  if (header_.data_offset - kFlvHeaderSize > options_.max_tag_size) {
    return Status::errorf("flv header: DataOffset {} exceeds max_tag_size {}", header_.data_offset,
                          options_.max_tag_size);
  }
  skip_ = header_.data_offset - uint32_t(kFlvHeaderSize);
  expected_prev_ = 0;
  state_ = skip_ ? State::kSkipHeader : State::kPrevTagSize;
  return Status::ok();
}

Status FlvReader::on_prev_tag_size() {
  uint32_t prev = uint32_t(hdr_[0]) << 24 | uint32_t(hdr_[1]) << 16 | uint32_t(hdr_[2]) << 8 | hdr_[3];
  if (prev != expected_prev_ && !options_.tolerate_bad_prev_tag_size) {
    if (tag_count_ == 0) {
      return Status::errorf("flv: PreviousTagSize0 is {}, should be 0", prev);
    }
    return Status::errorf("flv: PreviousTagSize {} after tag {} (type {}, {} bytes) should be {}",
                          prev, tag_count_, tag_type_, tag_size_, expected_prev_);
  }
  state_ = State::kTagHeader;
  return Status::ok();
}

Status FlvReader::on_tag_header() {
  uint8_t b0 = hdr_[0];
  uint8_t type = b0 & 0x1F;
  uint32_t size = uint32_t(hdr_[1]) << 16 | uint32_t(hdr_[2]) << 8 | hdr_[3];
  if (b0 & 0x20) {
    return Status::errorf("flv tag {}: filter bit set (encrypted tags are unsupported)", tag_count_ + 1);
  }
  if (b0 & 0xC0) {
    return Status::errorf("flv tag {}: reserved bits set in tag type byte {:#04x}", tag_count_ + 1, b0);
  }
  if (type != 8 && type != 9 && type != 18) {
    return Status::errorf("flv tag {}: unknown tag type {}", tag_count_ + 1, type);
  }
  if (size > options_.max_tag_size) {
    return Status::errorf("flv tag {}: DataSize {} exceeds max_tag_size {}", tag_count_ + 1, size,
                          options_.max_tag_size);
  }
  tag_type_ = type;
  tag_size_ = size;
  tag_ts_ = int64_t(uint32_t(hdr_[4]) << 16 | uint32_t(hdr_[5]) << 8 | hdr_[6] |
                    uint32_t(hdr_[7]) << 24);
  body_have_ = 0;
  body_.clear();
  body_dst_ = size ? body_.grow(size) : nullptr;
  state_ = State::kBody;
  return Status::ok();
}

Status FlvReader::feed(core::ByteView data, const Callback& on_tag) {
  if (!error_.is_ok()) return error_;
  size_t pos = 0;
  auto fill = [&](size_t want) {
    size_t n = std::min(want - have_, data.size() - pos);
    if (n) std::memcpy(hdr_ + have_, data.data() + pos, n);
    have_ += n;
    pos += n;
    consumed_ += n;
    return have_ == want;
  };
  // The loop also runs once with no data left so that an empty tag completes.
  while (true) {
    switch (state_) {
      case State::kHeader:
        if (!fill(kFlvHeaderSize)) return Status::ok();
        have_ = 0;
        if (Status s = on_header(); !s) return fail(s);
        break;
      case State::kSkipHeader: {
        size_t n = std::min<size_t>(skip_, data.size() - pos);
        skip_ -= uint32_t(n);
        pos += n;
        consumed_ += n;
        if (skip_) return Status::ok();
        state_ = State::kPrevTagSize;
        break;
      }
      case State::kPrevTagSize:
        if (!fill(kFlvPrevTagSizeSize)) return Status::ok();
        have_ = 0;
        if (Status s = on_prev_tag_size(); !s) return fail(s);
        break;
      case State::kTagHeader:
        if (!fill(kFlvTagHeaderSize)) return Status::ok();
        have_ = 0;
        if (Status s = on_tag_header(); !s) return fail(s);
        break;
      case State::kBody: {
        size_t n = std::min<size_t>(tag_size_ - body_have_, data.size() - pos);
        if (n) std::memcpy(body_dst_ + body_have_, data.data() + pos, n);
        body_have_ += uint32_t(n);
        pos += n;
        consumed_ += n;
        if (body_have_ < tag_size_) return Status::ok();
        FlvTag tag;
        tag.type = tag_type_;
        tag.timestamp_ms = tag_ts_;
        tag.body = body_.finish();
        body_dst_ = nullptr;
        ++tag_count_;
        expected_prev_ = tag_size_ + uint32_t(kFlvTagHeaderSize);
        state_ = State::kPrevTagSize;
        if (Status s = on_tag(tag); !s) return fail(s);
        break;
      }
    }
    if (pos == data.size() && state_ != State::kBody) return Status::ok();
  }
}

}  // namespace weir::protocol
