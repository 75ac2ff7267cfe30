#include "protocol/opus_head.h"

#include "core/byte_reader.h"

namespace weir::protocol {

using core::ByteView;
using core::Status;

namespace {

Status check_mapping(const OpusHead& h) {
  if (h.channels == 0) return Status::error("OpusHead: channel count 0");
  if (h.mapping_family == 0) {
    if (h.channels > 2) return Status::errorf("OpusHead: {} channels need a mapping family", h.channels);
    return Status::ok();
  }
  if (h.stream_count == 0) return Status::error("OpusHead: stream count 0");
  if (h.coupled_count > h.stream_count) {
    return Status::errorf("OpusHead: {} coupled streams of {}", h.coupled_count, h.stream_count);
  }
  unsigned decoded = unsigned(h.stream_count) + h.coupled_count;
  if (decoded > 255) return Status::errorf("OpusHead: {} decoded channels exceed 255", decoded);
  if (h.mapping.size() != h.channels) {
    return Status::errorf("OpusHead: mapping of {} entries for {} channels", h.mapping.size(), h.channels);
  }
  for (uint8_t m : h.mapping) {
    if (m != 255 && m >= decoded) return Status::errorf("OpusHead: mapping names channel {} of {}", m, decoded);
  }
  return Status::ok();
}

}  // namespace

core::Result<OpusHead> parse_opus_head(ByteView head) {
  if (head.size() < 19 || core::as_chars(head.first(8)) != "OpusHead") {
    return Status::errorf("Opus config: {} bytes, not an OpusHead", head.size());
  }
  OpusHead h;
  h.version = head[8];
  if ((h.version >> 4) != 0) return Status::errorf("OpusHead: version {} unsupported", h.version);
  h.channels = head[9];
  h.pre_skip = uint16_t(head[10] | head[11] << 8);
  h.input_sample_rate = uint32_t(head[12]) | uint32_t(head[13]) << 8 | uint32_t(head[14]) << 16 |
                        uint32_t(head[15]) << 24;
  h.output_gain = int16_t(uint16_t(head[16] | head[17] << 8));
  h.mapping_family = head[18];
  if (h.mapping_family != 0) {
    if (head.size() < size_t(21) + h.channels) {
      return Status::errorf("OpusHead: mapping family {} needs {} bytes, have {}", h.mapping_family,
                            21 + h.channels, head.size());
    }
    h.stream_count = head[19];
    h.coupled_count = head[20];
    h.mapping.assign(head.begin() + 21, head.begin() + 21 + h.channels);
  } else {
    h.coupled_count = h.channels > 1 ? 1 : 0;
  }
  if (Status s = check_mapping(h); !s) return s;
  return h;
}

core::Result<core::Slice> build_opus_head(const OpusHead& h) {
  if ((h.version >> 4) != 0) return Status::errorf("OpusHead: version {} unsupported", h.version);
  if (Status s = check_mapping(h); !s) return s;
  core::ByteWriter w(21 + h.mapping.size());
  w.bytes(std::string_view("OpusHead"));
  w.u8(h.version);
  w.u8(h.channels);
  w.u8(uint8_t(h.pre_skip));
  w.u8(uint8_t(h.pre_skip >> 8));
  w.u32le(h.input_sample_rate);
  w.u8(uint8_t(uint16_t(h.output_gain)));
  w.u8(uint8_t(uint16_t(h.output_gain) >> 8));
  w.u8(h.mapping_family);
  if (h.mapping_family != 0) {
    w.u8(h.stream_count);
    w.u8(h.coupled_count);
    w.bytes(ByteView(h.mapping.data(), h.mapping.size()));
  }
  return w.finish();
}

}  // namespace weir::protocol
