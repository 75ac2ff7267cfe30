#include "protocol/rtmp_messages.h"

#include "core/byte_reader.h"
#include "protocol/amf0.h"
#include "protocol/rtmp_chunk_writer.h"

namespace weir::protocol {

namespace {

core::Slice chunked(uint32_t chunk_size, uint32_t csid, uint8_t type_id, uint32_t stream_id,
                    int64_t timestamp, core::ByteView payload) {
  ChunkWriter w;
  w.set_chunk_size(chunk_size);
  core::ByteWriter out(w.chunked_size(csid, uint32_t(uint64_t(timestamp)), payload.size()));
  w.write(out, csid, type_id, stream_id, timestamp, payload);
  return out.finish();
}

core::Slice control_u32(uint32_t chunk_size, uint8_t type_id, uint32_t v) {
  uint8_t p[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  return chunked(chunk_size, kRtmpControlCsid, type_id, 0, 0, core::ByteView(p, 4));
}

// Skips the AMF3 command/data format byte (0x00). Flash always sends it;
// tolerate its absence when the payload starts straight with an AMF0 string.
core::Result<core::ByteView> strip_format_byte(const RtmpMessage& m) {
  core::ByteView v = m.payload.view();
  if (v.empty()) return v;
  if (v[0] == 0x00) return v.subspan(1);
  if (v[0] == 0x02) return v;
  return core::Status::errorf("rtmp: AMF3 message (type {}) starts with 0x{:02x}, want 0x00",
                              m.type_id, v[0]);
}

}  // namespace

core::Slice make_set_chunk_size(uint32_t chunk_size, uint32_t new_chunk_size) {
  return control_u32(chunk_size, rtmp_type::kSetChunkSize, new_chunk_size & 0x7FFFFFFF);
}

core::Slice make_abort(uint32_t chunk_size, uint32_t csid_to_abort) {
  return control_u32(chunk_size, rtmp_type::kAbort, csid_to_abort);
}

core::Slice make_acknowledgement(uint32_t chunk_size, uint32_t sequence_number) {
  return control_u32(chunk_size, rtmp_type::kAcknowledgement, sequence_number);
}

core::Slice make_window_ack_size(uint32_t chunk_size, uint32_t window) {
  return control_u32(chunk_size, rtmp_type::kWindowAckSize, window);
}

core::Slice make_set_peer_bandwidth(uint32_t chunk_size, uint32_t window, BandwidthLimit limit) {
  uint8_t p[5] = {uint8_t(window >> 24), uint8_t(window >> 16), uint8_t(window >> 8),
                  uint8_t(window), uint8_t(limit)};
  return chunked(chunk_size, kRtmpControlCsid, rtmp_type::kSetPeerBandwidth, 0, 0,
                 core::ByteView(p, 5));
}

core::Slice make_user_control(uint32_t chunk_size, UserControlEvent event, uint32_t value) {
  uint16_t e = uint16_t(event);
  uint8_t p[6] = {uint8_t(e >> 8),     uint8_t(e),         uint8_t(value >> 24),
                  uint8_t(value >> 16), uint8_t(value >> 8), uint8_t(value)};
  return chunked(chunk_size, kRtmpControlCsid, rtmp_type::kUserControl, 0, 0,
                 core::ByteView(p, 6));
}

core::Slice make_set_buffer_length(uint32_t chunk_size, uint32_t stream_id, uint32_t buffer_ms) {
  core::ByteWriter p(10);
  p.u16be(uint16_t(UserControlEvent::kSetBufferLength));
  p.u32be(stream_id);
  p.u32be(buffer_ms);
  return chunked(chunk_size, kRtmpControlCsid, rtmp_type::kUserControl, 0, 0, p.view());
}

core::Slice make_command(uint32_t chunk_size, uint32_t csid, uint32_t stream_id,
                         std::string_view name, double transaction_id,
                         const std::vector<AmfValue>& args) {
  core::ByteWriter p(256);
  amf0_encode(p, AmfValue::string(std::string(name)));
  amf0_encode(p, AmfValue::number(transaction_id));
  amf0_encode_all(p, args);
  return chunked(chunk_size, csid, rtmp_type::kCommandAmf0, stream_id, 0, p.view());
}

core::Slice make_data(uint32_t chunk_size, uint32_t csid, uint32_t stream_id,
                      int64_t timestamp_ms, const std::vector<AmfValue>& values) {
  core::ByteWriter p(256);
  amf0_encode_all(p, values);
  return chunked(chunk_size, csid, rtmp_type::kDataAmf0, stream_id, timestamp_ms, p.view());
}

core::Result<Command> parse_command(const RtmpMessage& m) {
  core::ByteView body;
  if (m.type_id == rtmp_type::kCommandAmf0) {
    body = m.payload.view();
  } else if (m.type_id == rtmp_type::kCommandAmf3) {
    auto b = strip_format_byte(m);
    if (!b) return b.status();
    body = *b;
  } else {
    return core::Status::errorf("rtmp: message type {} is not a command", m.type_id);
  }
  auto values = amf0_decode_all(body);
  if (!values) return core::Status::errorf("rtmp command: {}", values.error());
  auto& v = *values;
  if (v.empty() || !v[0].is_string()) {
    return core::Status::error("rtmp command: first value is not a command name string");
  }
  Command c;
  c.name = v[0].string();
  if (v.size() > 1) {
    if (!v[1].is_number()) {
      return core::Status::errorf("rtmp command {}: transaction id is a {}, not a number", c.name,
                                  amf_type_name(v[1].type()));
    }
    c.transaction_id = v[1].number();
  }
  c.command_object = v.size() > 2 ? std::move(v[2]) : AmfValue::null();
  for (size_t i = 3; i < v.size(); ++i) c.args.push_back(std::move(v[i]));
  return c;
}

core::Result<std::vector<AmfValue>> parse_data(const RtmpMessage& m) {
  core::ByteView body;
  if (m.type_id == rtmp_type::kDataAmf0) {
    body = m.payload.view();
  } else if (m.type_id == rtmp_type::kDataAmf3) {
    auto b = strip_format_byte(m);
    if (!b) return b.status();
    body = *b;
  } else {
    return core::Status::errorf("rtmp: message type {} is not a data message", m.type_id);
  }
  auto values = amf0_decode_all(body);
  if (!values) return core::Status::errorf("rtmp data: {}", values.error());
  return values;
}

core::Result<std::optional<core::MediaPacket>> make_data_packet(const RtmpMessage& m) {
  auto values = parse_data(m);
  if (!values) return values.status();
  std::vector<AmfValue>& v = *values;
  if (!v.empty() && v[0].is_string() && v[0].string() == "@setDataFrame") v.erase(v.begin());
  if (v.empty() || !v[0].is_string()) return std::optional<core::MediaPacket>();
  core::ByteWriter w(m.payload.size() + 16);
  amf0_encode_all(w, v);
  core::MediaPacket pkt;
  pkt.track = core::TrackType::kData;
  pkt.codec = core::Codec::kAmf;
  pkt.flags = v[0].string() == "onMetaData" ? core::packet_flags::kConfig : 0;
  pkt.dts = pkt.pts = m.timestamp;
  pkt.body = w.finish();
  return std::optional<core::MediaPacket>(std::move(pkt));
}

core::Result<UserControl> parse_user_control(const RtmpMessage& m) {
  if (m.type_id != rtmp_type::kUserControl) {
    return core::Status::errorf("rtmp: message type {} is not a user control message", m.type_id);
  }
  core::ByteReader r(m.payload.view());
  uint16_t e;
  if (!r.u16be(e)) {
    return core::Status::errorf("rtmp user control: payload of {} bytes", m.payload.size());
  }
  UserControl uc;
  uc.event = UserControlEvent(e);
  bool known = e <= 4 || e == 6 || e == 7;
  if (!r.u32be(uc.value)) {
    if (known) {
      return core::Status::errorf("rtmp user control: event {} with {} bytes of data (need 4)", e,
                                  r.remaining());
    }
    uc.value = 0;
  }
  if (uc.event == UserControlEvent::kSetBufferLength && !r.u32be(uc.buffer_ms)) {
    return core::Status::error("rtmp user control: SetBufferLength without a buffer length");
  }
  return uc;
}

core::Result<uint32_t> parse_u32_control(const RtmpMessage& m) {
  core::ByteReader r(m.payload.view());
  uint32_t v;
  if (!r.u32be(v)) {
    return core::Status::errorf("rtmp: control message type {} with {} bytes (need 4)", m.type_id,
                                m.payload.size());
  }
  return v;
}

core::Result<PeerBandwidth> parse_set_peer_bandwidth(const RtmpMessage& m) {
  core::ByteReader r(m.payload.view());
  PeerBandwidth pb;
  uint8_t limit;
  if (!r.u32be(pb.window) || !r.u8(limit)) {
    return core::Status::errorf("rtmp: set peer bandwidth with {} bytes (need 5)",
                                m.payload.size());
  }
  if (limit > 2) return core::Status::errorf("rtmp: set peer bandwidth limit type {}", limit);
  pb.limit = BandwidthLimit(limit);
  return pb;
}

core::Result<core::Slice> RtmpPeerDuties::on_control(const RtmpMessage& m, uint32_t out_chunk_size) {
  if (m.type_id == rtmp_type::kWindowAckSize) {
    auto w = parse_u32_control(m);
    if (!w) return w.status();
    window_ = *w;
  } else if (m.type_id == rtmp_type::kUserControl) {
    auto uc = parse_user_control(m);
    if (!uc) return uc.status();
    if (uc->event == UserControlEvent::kPingRequest)
      return make_user_control(out_chunk_size, UserControlEvent::kPingResponse, uc->value);
  }
  return core::Slice();
}

core::Slice RtmpPeerDuties::ack_due(uint64_t bytes_received, uint32_t out_chunk_size) {
  if (!window_ || bytes_received - last_ack_ < window_) return core::Slice();
  last_ack_ = bytes_received;
  // The sequence number is the byte count so far, modulo 2^32 (5.4.3).
  return make_acknowledgement(out_chunk_size, uint32_t(bytes_received));
}

}  // namespace weir::protocol
