#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/buffer.h"
#include "protocol/amf0.h"
#include "protocol/rtmp_aggregate.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_chunk_writer.h"
#include "protocol/rtmp_messages.h"

using namespace weir;
using namespace weir::protocol;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes to_bytes(core::ByteView v) { return Bytes(v.begin(), v.end()); }

std::vector<RtmpMessage> read_all(core::ByteView data, uint32_t chunk_size = 128) {
  ChunkReader r;
  std::vector<RtmpMessage> out;
  if (chunk_size != 128) {
    auto scs = make_set_chunk_size(128, chunk_size);
    REQUIRE(r.feed(scs.view(), [](RtmpMessage&&) { return core::Status::ok(); }).is_ok());
  }
  auto st = r.feed(data, [&](RtmpMessage&& m) {
    out.push_back(std::move(m));
    return core::Status::ok();
  });
  REQUIRE(st.is_ok());
  return out;
}

RtmpMessage one(core::ByteView data, uint32_t chunk_size = 128) {
  auto v = read_all(data, chunk_size);
  REQUIRE(v.size() == 1);
  return std::move(v[0]);
}

RtmpMessage raw(uint8_t type, const Bytes& payload, int64_t ts = 0) {
  RtmpMessage m;
  m.type_id = type;
  m.csid = 3;
  m.stream_id = 1;
  m.timestamp = ts;
  m.payload = core::Slice::copy_of(core::ByteView(payload.data(), payload.size()));
  return m;
}

void put_str(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// The connect command FFmpeg's RTMP muxer sends when publishing
// (libavformat/rtmpproto.c gen_connect), AMF0-encoded by hand.
Bytes ffmpeg_connect_payload() {
  core::ByteWriter w;
  auto str = [&](std::string_view s) {
    w.u8(0x02);
    w.u16be(uint16_t(s.size()));
    w.bytes(s);
  };
  auto key = [&](std::string_view s) {
    w.u16be(uint16_t(s.size()));
    w.bytes(s);
  };
  str("connect");
  w.u8(0x00);
  w.f64be(1.0);
  w.u8(0x03);
  key("app");
  str("live");
  key("type");
  str("nonprivate");
  key("flashVer");
  str("FMLE/3.0 (compatible; Lavf60.16.100)");
  key("tcUrl");
  str("rtmp://127.0.0.1:1935/live");
  w.u16be(0);
  w.u8(0x09);
  return to_bytes(w.view());
}

}  // namespace

TEST_CASE("protocol control builders produce the spec bytes", "[rtmp_messages]") {
  CHECK(to_bytes(make_set_chunk_size(128, 4096).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00}));
  CHECK(to_bytes(make_abort(128, 5).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 4, 0x02, 0, 0, 0, 0, 0, 0, 0, 5}));
  CHECK(to_bytes(make_acknowledgement(128, 0x01020304).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 4, 0x03, 0, 0, 0, 0, 1, 2, 3, 4}));
  CHECK(to_bytes(make_window_ack_size(128, 2500000).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 4, 0x05, 0, 0, 0, 0, 0x00, 0x26, 0x25, 0xA0}));
  CHECK(to_bytes(make_set_peer_bandwidth(128, 2500000, BandwidthLimit::kDynamic).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 5, 0x06, 0, 0, 0, 0, 0x00, 0x26, 0x25, 0xA0, 2}));
  CHECK(to_bytes(make_user_control(128, UserControlEvent::kStreamBegin, 1).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 6, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  CHECK(to_bytes(make_set_buffer_length(128, 1, 3000).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 10, 0x04, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8}));
  // With a chunk size smaller than the payload the message is chunked.
  CHECK(to_bytes(make_acknowledgement(3, 0x01020304).view()) ==
        Bytes({0x02, 0, 0, 0, 0, 0, 4, 0x03, 0, 0, 0, 0, 1, 2, 3, 0xC2, 4}));
}

TEST_CASE("protocol control round trips through the reader", "[rtmp_messages]") {
  {
    auto m = one(make_window_ack_size(128, 5000000).view());
    CHECK(int(m.type_id) == rtmp_type::kWindowAckSize);
    CHECK(*parse_u32_control(m) == 5000000);
  }
  {
    auto m = one(make_set_peer_bandwidth(128, 5000000, BandwidthLimit::kSoft).view());
    auto pb = parse_set_peer_bandwidth(m);
    REQUIRE(pb.is_ok());
    CHECK(pb->window == 5000000);
    CHECK(pb->limit == BandwidthLimit::kSoft);
  }
  for (auto ev : {UserControlEvent::kStreamBegin, UserControlEvent::kStreamEof,
                  UserControlEvent::kStreamDry, UserControlEvent::kStreamIsRecorded,
                  UserControlEvent::kPingRequest, UserControlEvent::kPingResponse}) {
    auto m = one(make_user_control(128, ev, 0xABCDEF01).view());
    auto uc = parse_user_control(m);
    REQUIRE(uc.is_ok());
    CHECK(uc->event == ev);
    CHECK(uc->value == 0xABCDEF01);
  }
  {
    auto uc = parse_user_control(one(make_set_buffer_length(128, 1, 3000).view()));
    REQUIRE(uc.is_ok());
    CHECK(uc->event == UserControlEvent::kSetBufferLength);
    CHECK(uc->value == 1);
    CHECK(uc->buffer_ms == 3000);
  }
  // Errors.
  CHECK_THAT(parse_user_control(raw(rtmp_type::kUserControl, {0})).error(),
             Catch::Contains("payload of 1 bytes"));
  CHECK_THAT(parse_user_control(raw(rtmp_type::kUserControl, {0, 0, 1})).error(),
             Catch::Contains("event 0 with 1 bytes of data"));
  CHECK_THAT(parse_user_control(raw(rtmp_type::kUserControl, {0, 3, 0, 0, 0, 1})).error(),
             Catch::Contains("SetBufferLength without"));
  CHECK_THAT(parse_user_control(raw(rtmp_type::kAudio, {0, 0, 0, 0, 0, 1})).error(),
             Catch::Contains("not a user control"));
  // FMS BufferEmpty (31) keeps its wire value.
  auto be = parse_user_control(raw(rtmp_type::kUserControl, {0, 31, 0, 0, 0, 1}));
  REQUIRE(be.is_ok());
  CHECK(uint16_t(be->event) == 31);
  CHECK_THAT(parse_u32_control(raw(rtmp_type::kAcknowledgement, {1, 2})).error(),
             Catch::Contains("with 2 bytes (need 4)"));
  CHECK_THAT(parse_set_peer_bandwidth(raw(rtmp_type::kSetPeerBandwidth, {0, 0, 0, 1, 3})).error(),
             Catch::Contains("limit type 3"));
}

TEST_CASE("ffmpeg's connect command parses", "[rtmp_messages]") {
  Bytes payload = ffmpeg_connect_payload();
  ChunkWriter w;
  core::ByteWriter out;
  w.write(out, 3, rtmp_type::kCommandAmf0, 0, 0, core::ByteView(payload.data(), payload.size()));
  REQUIRE(payload.size() > 128);  // spans two chunks at the default size
  auto m = one(out.view());
  auto cmd = parse_command(m);
  REQUIRE(cmd.is_ok());
  CHECK(cmd->name == "connect");
  CHECK(cmd->transaction_id == 1);
  CHECK(cmd->command_object.is_object());
  CHECK(cmd->command_object.get_string("app") == "live");
  CHECK(cmd->command_object.get_string("type") == "nonprivate");
  CHECK(cmd->command_object.get_string("flashVer") == "FMLE/3.0 (compatible; Lavf60.16.100)");
  CHECK(cmd->command_object.get_string("tcUrl") == "rtmp://127.0.0.1:1935/live");
  CHECK(cmd->args.empty());
}

TEST_CASE("make_command round trips, chunked", "[rtmp_messages]") {
  AmfValue info = AmfValue::object({
      {"level", AmfValue::string("status")},
      {"code", AmfValue::string("NetStream.Publish.Start")},
      {"description", AmfValue::string(std::string(300, 'd'))},
  });
  auto bytes = make_command(128, 5, 1, "onStatus", 0, {AmfValue::null(), info});
  auto msgs = read_all(bytes.view());
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].csid == 5);
  CHECK(msgs[0].stream_id == 1);
  CHECK(int(msgs[0].type_id) == rtmp_type::kCommandAmf0);
  auto cmd = parse_command(msgs[0]);
  REQUIRE(cmd.is_ok());
  CHECK(cmd->name == "onStatus");
  CHECK(cmd->transaction_id == 0);
  CHECK(cmd->command_object.is_null());
  REQUIRE(cmd->args.size() == 1);
  CHECK(cmd->args[0] == info);

  // publish with the big chunk size most servers announce.
  auto pub = make_command(4096, 8, 1, "publish", 5,
                          {AmfValue::null(), AmfValue::string("stream"), AmfValue::string("live")});
  auto pm = one(pub.view(), 4096);
  auto pc = parse_command(pm);
  REQUIRE(pc.is_ok());
  CHECK(pc->name == "publish");
  CHECK(pc->transaction_id == 5);
  REQUIRE(pc->args.size() == 2);
  CHECK(pc->args[0].string() == "stream");
  CHECK(pc->args[1].string() == "live");

  // Only a name: transaction id 0, Null command object.
  auto bare = parse_command(one(make_command(128, 3, 0, "x", 0, {}).view()));
  REQUIRE(bare.is_ok());
  CHECK(bare->command_object.is_null());
}

TEST_CASE("AMF3 command (type 17) parses", "[rtmp_messages]") {
  // 0x00 format byte, AMF0 "connect", 1, then the command object as AMF3 via 0x11.
  Bytes p = {0x00, 0x02, 0x00, 0x07};
  put_str(p, "connect");
  p.insert(p.end(), {0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0});
  p.insert(p.end(), {0x11, 0x0A, 0x0B, 0x01, 0x07});
  put_str(p, "app");
  p.insert(p.end(), {0x06, 0x09});
  put_str(p, "live");
  p.push_back(0x1D);
  put_str(p, "objectEncoding");
  p.insert(p.end(), {0x04, 0x03});
  p.push_back(0x0B);
  put_str(p, "tcUrl");
  p.insert(p.end(), {0x06, 0x2F});
  put_str(p, "rtmp://example.com/live");
  p.push_back(0x01);
  // An extra argument: AMF0 null and an AMF3 string.
  p.push_back(0x05);
  p.insert(p.end(), {0x11, 0x06, 0x07});
  put_str(p, "arg");
  ChunkWriter w;
  core::ByteWriter out;
  w.write(out, 3, rtmp_type::kCommandAmf3, 0, 0, core::ByteView(p.data(), p.size()));
  auto m = one(out.view());
  auto cmd = parse_command(m);
  REQUIRE(cmd.is_ok());
  CHECK(cmd->name == "connect");
  CHECK(cmd->transaction_id == 1);
  CHECK(cmd->command_object.get_string("app") == "live");
  CHECK(cmd->command_object.get_number("objectEncoding") == 3);
  CHECK(cmd->command_object.get_string("tcUrl") == "rtmp://example.com/live");
  REQUIRE(cmd->args.size() == 2);
  CHECK(cmd->args[0].is_null());
  CHECK(cmd->args[1].string() == "arg");

  // Without the format byte (starts straight with the AMF0 string) it is tolerated.
  Bytes q(p.begin() + 1, p.end());
  auto c2 = parse_command(raw(rtmp_type::kCommandAmf3, q));
  REQUIRE(c2.is_ok());
  CHECK(c2->name == "connect");
  // Any other first byte is not.
  Bytes bad = {0x07, 0x02, 0x00, 0x01, 'x'};
  CHECK_THAT(parse_command(raw(rtmp_type::kCommandAmf3, bad)).error(),
             Catch::Contains("starts with 0x07"));
}

TEST_CASE("command parse errors", "[rtmp_messages]") {
  CHECK_THAT(parse_command(raw(rtmp_type::kAudio, {0x02, 0, 1, 'x'})).error(),
             Catch::Contains("message type 8 is not a command"));
  CHECK_THAT(parse_command(raw(rtmp_type::kCommandAmf0, {})).error(),
             Catch::Contains("not a command name string"));
  CHECK_THAT(parse_command(raw(rtmp_type::kCommandAmf0, {0x05})).error(),
             Catch::Contains("not a command name string"));
  CHECK_THAT(parse_command(raw(rtmp_type::kCommandAmf0, {0x02, 0, 1, 'x', 0x05})).error(),
             Catch::Contains("transaction id is a null"));
  CHECK_THAT(parse_command(raw(rtmp_type::kCommandAmf0, {0x02, 0, 9, 'x'})).error(),
             Catch::StartsWith("rtmp command: amf0: string length 9 exceeds"));
}

TEST_CASE("data messages", "[rtmp_messages]") {
  AmfValue meta = AmfValue::ecma_array({{"width", AmfValue::number(1280)},
                                         {"height", AmfValue::number(720)},
                                         {"videocodecid", AmfValue::number(7)}});
  auto bytes = make_data(128, 4, 1, 0x12345678,
                         {AmfValue::string("@setDataFrame"), AmfValue::string("onMetaData"), meta});
  auto m = one(bytes.view());
  CHECK(int(m.type_id) == rtmp_type::kDataAmf0);
  CHECK(m.timestamp == 0x12345678);
  auto v = parse_data(m);
  REQUIRE(v.is_ok());
  REQUIRE(v->size() == 3);
  CHECK((*v)[0].string() == "@setDataFrame");
  CHECK((*v)[2] == meta);
  // Type 15 with its format byte.
  Bytes p = {0x00};
  auto payload = m.payload.view();
  p.insert(p.end(), payload.begin(), payload.end());
  auto v3 = parse_data(raw(rtmp_type::kDataAmf3, p));
  REQUIRE(v3.is_ok());
  CHECK(*v3 == *v);
  CHECK_THAT(parse_data(raw(rtmp_type::kVideo, p)).error(), Catch::Contains("not a data message"));
}

TEST_CASE("data messages become data-track packets", "[rtmp_messages]") {
  AmfValue meta = AmfValue::ecma_array({{"width", AmfValue::number(640)}, {"duration", AmfValue::number(0)}});
  core::ByteWriter want;
  amf0_encode_all(want, {AmfValue::string("onMetaData"), meta});
  for (bool set_data_frame : {true, false}) {
    std::vector<AmfValue> values{AmfValue::string("onMetaData"), meta};
    if (set_data_frame) values.insert(values.begin(), AmfValue::string("@setDataFrame"));
    auto m = one(make_data(128, 4, 1, 40, values).view());
    auto pkt = make_data_packet(m);
    REQUIRE(pkt.is_ok());
    REQUIRE(pkt->has_value());
    const core::MediaPacket& p = **pkt;
    CHECK(p.track == core::TrackType::kData);
    CHECK(p.codec == core::Codec::kAmf);
    CHECK(p.is_config());
    CHECK(p.dts == 40);
    CHECK(p.pts == 40);
    CHECK(to_bytes(p.body.view()) == to_bytes(want.view()));
    // The same from an AMF3 data message (format byte, then AMF0).
    Bytes amf3 = {0x00};
    amf3.insert(amf3.end(), m.payload.view().begin(), m.payload.view().end());
    auto p3 = make_data_packet(raw(rtmp_type::kDataAmf3, amf3));
    REQUIRE(p3.is_ok());
    REQUIRE(p3->has_value());
    CHECK(to_bytes((*p3)->body.view()) == to_bytes(want.view()));
  }
  auto text = make_data_packet(one(make_data(128, 4, 1, 7, {AmfValue::string("onTextData"), meta}).view()));
  REQUIRE(text.is_ok());
  REQUIRE(text->has_value());
  CHECK((*text)->flags == 0);
  auto unnamed = make_data_packet(one(make_data(128, 4, 1, 0, {AmfValue::number(1)}).view()));
  REQUIRE(unnamed.is_ok());
  CHECK_FALSE(unnamed->has_value());
  CHECK_FALSE(make_data_packet(raw(rtmp_type::kVideo, {0x17})).is_ok());
}

TEST_CASE("peer duties: acknowledgements at the window, ping responses", "[rtmp_messages]") {
  RtmpPeerDuties d;
  CHECK(d.ack_due(10'000'000, 128).empty());  // no window asked for: no acks
  auto none = d.on_control(one(make_window_ack_size(128, 1000).view()), 128);
  REQUIRE(none.is_ok());
  CHECK(none->empty());
  CHECK(d.ack_due(999, 128).empty());
  auto ack = d.ack_due(1500, 128);
  REQUIRE_FALSE(ack.empty());
  auto am = one(ack.view());
  CHECK(int(am.type_id) == rtmp_type::kAcknowledgement);
  CHECK(*parse_u32_control(am) == 1500);
  CHECK(d.ack_due(2400, 128).empty());  // 900 since the last one
  CHECK(*parse_u32_control(one(d.ack_due(2500, 128).view())) == 2500);
  // 32-bit sequence numbers wrap (RTMP 1.0 5.4.3).
  CHECK(*parse_u32_control(one(d.ack_due((1ull << 32) + 7, 128).view())) == 7);

  auto pong = d.on_control(one(make_user_control(128, UserControlEvent::kPingRequest, 4242).view()), 128);
  REQUIRE(pong.is_ok());
  auto pm = parse_user_control(one(pong->view()));
  REQUIRE(pm.is_ok());
  CHECK(pm->event == UserControlEvent::kPingResponse);
  CHECK(pm->value == 4242);
  auto begin = d.on_control(one(make_user_control(128, UserControlEvent::kStreamBegin, 1).view()), 128);
  REQUIRE(begin.is_ok());
  CHECK(begin->empty());
  CHECK_FALSE(d.on_control(raw(rtmp_type::kUserControl, {0}), 128).is_ok());
  CHECK_FALSE(d.on_control(raw(rtmp_type::kWindowAckSize, {0, 1}), 128).is_ok());
}

TEST_CASE("aggregate messages split into rebased sub-messages", "[rtmp_aggregate]") {
  core::ByteWriter w;
  auto tag = [&](uint8_t type, uint32_t ts, const Bytes& body, bool back_pointer = true) {
    w.u8(type);
    w.u24be(uint32_t(body.size()));
    w.u24be(ts & 0xFFFFFF);
    w.u8(uint8_t(ts >> 24));
    w.u24be(0);
    w.bytes(core::ByteView(body.data(), body.size()));
    if (back_pointer) w.u32be(uint32_t(11 + body.size()));
  };
  tag(rtmp_type::kVideo, 1000, {0x17, 0x01, 0xAA});
  tag(rtmp_type::kAudio, 1010, {0xAF, 0x01});
  tag(rtmp_type::kVideo, 1040, {0x27, 0x01, 0xBB, 0xCC});
  tag(rtmp_type::kAudio, 995, {0xAF, 0x01, 0x02}, false);  // slightly earlier; no final back pointer
  RtmpMessage agg;
  agg.type_id = rtmp_type::kAggregate;
  agg.csid = 6;
  agg.stream_id = 1;
  agg.timestamp = 5000;
  agg.payload = w.finish();

  std::vector<RtmpMessage> parts;
  auto st = for_each_aggregate_part(agg, [&](RtmpMessage&& m) {
    parts.push_back(std::move(m));
    return core::Status::ok();
  });
  REQUIRE(st.is_ok());
  REQUIRE(parts.size() == 4);
  CHECK(int(parts[0].type_id) == rtmp_type::kVideo);
  CHECK(parts[0].timestamp == 5000);
  CHECK(parts[1].timestamp == 5010);
  CHECK(parts[2].timestamp == 5040);
  CHECK(parts[3].timestamp == 4995);
  CHECK(to_bytes(parts[2].payload.view()) == Bytes({0x27, 0x01, 0xBB, 0xCC}));
  CHECK(to_bytes(parts[3].payload.view()) == Bytes({0xAF, 0x01, 0x02}));
  for (const auto& p : parts) {
    CHECK(p.stream_id == 1);
    CHECK(p.csid == 6);
    CHECK(p.payload.buffer().get() == agg.payload.buffer().get());  // no copy
  }
}

TEST_CASE("aggregate timestamps across a 32-bit wrap inside the run", "[rtmp_aggregate]") {
  core::ByteWriter w;
  for (uint32_t ts : {0xFFFFFFF0u, 0x10u}) {
    w.u8(rtmp_type::kAudio);
    w.u24be(1);
    w.u24be(ts & 0xFFFFFF);
    w.u8(uint8_t(ts >> 24));
    w.u24be(0);
    w.u8(0xAF);
    w.u32be(12);
  }
  RtmpMessage agg;
  agg.type_id = rtmp_type::kAggregate;
  agg.timestamp = 0x100000000ll;
  agg.payload = w.finish();
  std::vector<int64_t> ts;
  REQUIRE(for_each_aggregate_part(agg, [&](RtmpMessage&& m) {
            ts.push_back(m.timestamp);
            return core::Status::ok();
          }).is_ok());
  CHECK(ts == std::vector<int64_t>{0x100000000ll, 0x100000020ll});
}

TEST_CASE("aggregate errors", "[rtmp_aggregate]") {
  auto run = [](const Bytes& payload) {
    RtmpMessage agg;
    agg.type_id = rtmp_type::kAggregate;
    agg.payload = core::Slice::copy_of(core::ByteView(payload.data(), payload.size()));
    return for_each_aggregate_part(agg, [](RtmpMessage&&) { return core::Status::ok(); });
  };
  CHECK_THAT(run({9, 0, 0}).message(), Catch::Contains("truncated tag header at offset 0"));
  CHECK_THAT(run({9, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 2}).message(),
             Catch::Contains("declares 10 bytes, only 2 left"));
  CHECK_THAT(run({9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}).message(),
             Catch::Contains("truncated back pointer"));
  CHECK_THAT(run({1, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}).message(),
             Catch::Contains("sub-message type 1 at offset 0 not allowed"));
  CHECK_THAT(run({22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).message(),
             Catch::Contains("sub-message type 22"));
  CHECK(run({}).is_ok());
  // Callback errors propagate.
  RtmpMessage agg;
  agg.type_id = rtmp_type::kAggregate;
  Bytes one_tag = {8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xAF, 0, 0, 0, 12};
  agg.payload = core::Slice::copy_of(core::ByteView(one_tag.data(), one_tag.size()));
  CHECK(for_each_aggregate_part(agg, [](RtmpMessage&&) { return core::Status::error("nope"); })
            .message() == "nope");
  agg.type_id = rtmp_type::kVideo;
  CHECK_THAT(for_each_aggregate_part(agg, [](RtmpMessage&&) { return core::Status::ok(); }).message(),
             Catch::Contains("not an aggregate"));
}
