#include "protocol/rtmp_aggregate.h"

#include "core/byte_reader.h"

namespace weir::protocol {

core::Status for_each_aggregate_part(const RtmpMessage& agg,
                                     const std::function<core::Status(RtmpMessage&&)>& on_part) {
  if (agg.type_id != rtmp_type::kAggregate) {
    return core::Status::errorf("rtmp aggregate: message type {} is not an aggregate", agg.type_id);
  }
  core::ByteReader r(agg.payload.view());
  bool first = true;
  uint32_t first_ts = 0;
  while (!r.empty()) {
    size_t tag_at = r.position();
    uint8_t type;
    uint32_t size, ts_low;
    uint8_t ts_high;
    uint32_t stream_id;
    if (!r.u8(type) || !r.u24be(size) || !r.u24be(ts_low) || !r.u8(ts_high) ||
        !r.u24be(stream_id)) {
      return core::Status::errorf("rtmp aggregate: truncated tag header at offset {} ({} bytes left)",
                                  tag_at, agg.payload.size() - tag_at);
    }
    if (type != rtmp_type::kAudio && type != rtmp_type::kVideo && type != rtmp_type::kDataAmf0 &&
        type != rtmp_type::kDataAmf3) {
      return core::Status::errorf("rtmp aggregate: sub-message type {} at offset {} not allowed",
                                  type, tag_at);
    }
    size_t body_at = r.position();
    if (!r.skip(size)) {
      return core::Status::errorf(
          "rtmp aggregate: tag at offset {} declares {} bytes, only {} left", tag_at, size,
          r.remaining());
    }
    if (!r.empty() && !r.skip(4)) {
      return core::Status::errorf("rtmp aggregate: truncated back pointer after tag at offset {}",
                                  tag_at);
    }
    uint32_t ts = ts_low | uint32_t(ts_high) << 24;
    if (first) {
      first_ts = ts;
      first = false;
    }
    RtmpMessage m;
    m.type_id = type;
    m.stream_id = agg.stream_id;
    m.csid = agg.csid;
    m.timestamp = agg.timestamp + int32_t(ts - first_ts);
    if (m.timestamp < 0) m.timestamp = 0;
    m.payload = agg.payload.sub(body_at, size);
    if (auto st = on_part(std::move(m)); !st) return st;
  }
  return core::Status::ok();
}

bool is_stream_message(uint8_t t) {
  return t == rtmp_type::kAudio || t == rtmp_type::kVideo || t == rtmp_type::kDataAmf0 || t == rtmp_type::kDataAmf3 ||
         t == rtmp_type::kAggregate;
}

core::Status route_stream_message(RtmpMessage&& m, const std::function<core::Status(RtmpMessage&&)>& on_media,
                                  const std::function<core::Status(const RtmpMessage&)>& on_data) {
  switch (m.type_id) {
    case rtmp_type::kAudio:
    case rtmp_type::kVideo:
      return on_media(std::move(m));
    case rtmp_type::kDataAmf0:
    case rtmp_type::kDataAmf3:
      return on_data(m);
    case rtmp_type::kAggregate:
      return for_each_aggregate_part(m, [&](RtmpMessage&& part) {
        return route_stream_message(std::move(part), on_media, on_data);  // parts are never aggregates
      });
    default:
      return core::Status::ok();
  }
}

}  // namespace weir::protocol
