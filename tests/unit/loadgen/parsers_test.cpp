// loadgen's client-side parsers: HLS playlists, HTTP responses, WebSocket
// server frames, and the latency histogram.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "loadgen/parsers.h"
#include "loadgen/stats.h"
#include "loadgen/ws_client.h"
#include "protocol/ws_frame.h"

using namespace weir;
using namespace weir::loadgen;
using core::ByteView;

TEST_CASE("m3u8: live MPEG-TS media playlist") {
  auto pl = parse_m3u8(
      "#EXTM3U\r\n#EXT-X-VERSION:3\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-MEDIA-SEQUENCE:41\r\n"
      "#EXTINF:2.000,\r\ns/seg41.ts\r\n#EXT-X-DISCONTINUITY\r\n#EXTINF:1.960,title\r\ns/seg42.ts\r\n");
  REQUIRE(pl.is_ok());
  CHECK_FALSE(pl->master);
  CHECK(pl->target_duration == 2);
  CHECK(pl->media_sequence == 41);
  REQUIRE(pl->segments.size() == 2);
  CHECK(pl->segments[0].msn == 41);
  CHECK(pl->segments[0].uri == "s/seg41.ts");
  CHECK_FALSE(pl->segments[0].discontinuity);
  CHECK(pl->segments[1].msn == 42);
  CHECK(pl->segments[1].duration == Approx(1.96));
  CHECK(pl->segments[1].discontinuity);
  CHECK(pl->next_msn() == 43);
  CHECK_FALSE(pl->endlist);
  CHECK(pl->tail_parts.empty());
}

TEST_CASE("m3u8: LL-HLS parts belong to their segment, the tail to the next msn") {
  auto pl = parse_m3u8(
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.0\n"
      "#EXT-X-PART-INF:PART-TARGET=0.500\n#EXT-X-MAP:URI=\"init0.mp4\"\n"
      "#EXTINF:2.000,\nseg7.m4s\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part8.0.m4s\",INDEPENDENT=YES\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part8.1.m4s\"\n"
      "#EXTINF:1.000,\nseg8.m4s\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part9.0.m4s\",INDEPENDENT=YES\n"
      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part9.1.m4s\"\n");
  REQUIRE(pl.is_ok());
  CHECK(pl->can_block_reload);
  CHECK(pl->part_hold_back == Approx(1.5));
  CHECK(pl->part_target == Approx(0.5));
  CHECK(pl->map_uri == "init0.mp4");
  CHECK(pl->preload_hint_uri == "part9.1.m4s");
  REQUIRE(pl->segments.size() == 2);
  CHECK(pl->segments[0].parts.empty());
  REQUIRE(pl->segments[1].parts.size() == 2);
  CHECK(pl->segments[1].parts[0].msn == 8);
  CHECK(pl->segments[1].parts[0].independent);
  CHECK(pl->segments[1].parts[1].index == 1);
  CHECK_FALSE(pl->segments[1].parts[1].independent);
  REQUIRE(pl->tail_parts.size() == 1);
  CHECK(pl->tail_parts[0].msn == 9);
  CHECK(pl->tail_parts[0].index == 0);
  auto all = pl->all_parts();
  REQUIRE(all.size() == 3);
  CHECK(all[2].uri == "part9.0.m4s");
}

TEST_CASE("m3u8: master playlist, attributes, errors") {
  auto m = parse_m3u8("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.64001f,mp4a.40.2\"\nhi/index.m3u8\n"
                      "#EXT-X-STREAM-INF:BANDWIDTH=500000\nlo/index.m3u8\n");
  REQUIRE(m.is_ok());
  CHECK(m->master);
  REQUIRE(m->variants.size() == 2);
  CHECK(m->variants[0] == "hi/index.m3u8");
  CHECK(m3u8_attribute("BANDWIDTH=1,CODECS=\"a,b\",X=Y", "CODECS") == "a,b");
  CHECK(m3u8_attribute("BANDWIDTH=1,CODECS=\"a,b\",X=Y", "X") == "Y");
  CHECK(m3u8_attribute("BANDWIDTH=1", "NONE").empty());
  CHECK(parse_m3u8("").error().find("empty") != std::string::npos);
  CHECK(parse_m3u8("<html>").error().find("#EXTM3U") != std::string::npos);
  CHECK_FALSE(parse_m3u8("#EXTM3U\n#EXT-X-PART:DURATION=1\n").is_ok());
  CHECK_FALSE(parse_m3u8("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n").is_ok());
  CHECK(parse_m3u8("#EXTM3U\n#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n")->endlist);
  // Found by fuzz_m3u8: media sequence + index overflowed int64.
  CHECK(parse_m3u8("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:9223372036854775807\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n")
            .error().find("MEDIA-SEQUENCE") != std::string::npos);
  CHECK_FALSE(parse_m3u8("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-5\n#EXTINF:2,\na.ts\n").is_ok());
  CHECK(parse_m3u8("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1776000000\n#EXTINF:2,\na.ts\n")->segments[0].msn == 1776000000);
}

namespace {
struct Pieces {
  std::vector<WsPiece> pieces;
  std::vector<std::string> data;
};
Pieces ws_feed(WsClientFrameReader& r, ByteView in, size_t step, core::Status* st = nullptr) {
  Pieces out;
  for (size_t i = 0; i < in.size(); i += step) {
    auto s = r.feed(in.subspan(i, std::min(step, in.size() - i)), [&](const WsPiece& p) {
      out.pieces.push_back(p);
      out.data.emplace_back(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
    });
    if (!s.is_ok()) {
      if (st) *st = s;
      break;
    }
  }
  return out;
}
std::string join_binary(const Pieces& p) {
  std::string s;
  for (size_t i = 0; i < p.pieces.size(); ++i)
    if (p.pieces[i].opcode == protocol::ws::kBinary || p.pieces[i].opcode == 0) s += p.data[i];
  return s;
}
}  // namespace

TEST_CASE("ws client reader: server frames of every length encoding, split anywhere") {
  std::string small(100, 's'), mid(3000, 'm'), large(70000, 'l');
  core::ByteWriter w;
  for (const std::string* p : {&small, &mid, &large}) {
    uint8_t hdr[protocol::ws::kMaxFrameHeader];
    size_t n = protocol::write_ws_frame_header(hdr, protocol::ws::kBinary, true, p->size());
    w.bytes(ByteView(hdr, n));
    w.bytes(*p);
  }
  w.bytes(protocol::make_ws_frame(protocol::ws::kPing, core::as_bytes(std::string("hi"))).view());
  uint8_t empty[protocol::ws::kMaxFrameHeader];
  w.bytes(ByteView(empty, protocol::write_ws_frame_header(empty, protocol::ws::kBinary, true, 0)));
  core::Slice all = w.finish();
  for (size_t step : {size_t(1), size_t(7), size_t(4096), all.size()}) {
    WsClientFrameReader r;
    Pieces p = ws_feed(r, all.view(), step);
    CHECK(join_binary(p) == small + mid + large);
    int pings = 0, starts = 0, ends = 0;
    for (size_t i = 0; i < p.pieces.size(); ++i) {
      if (p.pieces[i].opcode == protocol::ws::kPing) {
        ++pings;
        CHECK(p.data[i] == "hi");
      }
      if (p.pieces[i].frame_start) ++starts;
      if (p.pieces[i].frame_end) ++ends;
    }
    CHECK(pings == 1);
    CHECK(starts == 5);
    CHECK(ends == 5);
  }
}

TEST_CASE("ws client reader: protocol errors") {
  core::Status st;
  {
    WsClientFrameReader r;
    const uint8_t masked[] = {0x82, 0x81, 1, 2, 3, 4, 'x'};
    ws_feed(r, ByteView(masked, sizeof masked), 1, &st);
    CHECK(st.message().find("masked") != std::string::npos);
  }
  {
    WsClientFrameReader r;
    const uint8_t rsv[] = {0xC2, 0x00};
    ws_feed(r, ByteView(rsv, sizeof rsv), 2, &st);
    CHECK(st.message().find("reserved") != std::string::npos);
  }
  {
    WsClientFrameReader r;
    const uint8_t frag_ping[] = {0x09, 0x00};
    ws_feed(r, ByteView(frag_ping, sizeof frag_ping), 2, &st);
    CHECK(st.message().find("control frame") != std::string::npos);
  }
  {
    WsClientFrameReader r(1000);
    const uint8_t big[] = {0x82, 126, 0x10, 0x00};
    ws_feed(r, ByteView(big, sizeof big), 4, &st);
    CHECK(st.message().find("cap") != std::string::npos);
  }
}

TEST_CASE("ws client: masked frames and keys that Weir's server side accepts") {
  std::string key = make_websocket_key(42);
  CHECK(key.size() == 24);
  CHECK(protocol::valid_websocket_key(key));
  CHECK(make_websocket_key(43) != key);
  std::string pong = "ping-data", payload(70000, 'p');
  core::ByteWriter w;
  w.bytes(make_masked_frame(protocol::ws::kPong, core::as_bytes(pong), 0xA1B2C3D4).view());
  w.bytes(make_masked_frame(protocol::ws::kBinary, core::as_bytes(payload), 0x00000000).view());
  w.bytes(make_masked_frame(protocol::ws::kBinary, core::as_bytes(std::string(200, 'q')), 0xFFFFFFFF).view());
  protocol::WsFrameParser server(1 << 20);
  std::vector<std::pair<uint8_t, std::string>> got;
  auto st = server.feed(w.view(), [&](const protocol::WsMessage& m) {
    got.emplace_back(m.opcode, std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()));
  });
  INFO(st.message());
  CHECK(st.is_ok());
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::make_pair(protocol::ws::kPong, pong));
  CHECK(got[1] == std::make_pair(protocol::ws::kBinary, payload));
  CHECK(got[2] == std::make_pair(protocol::ws::kBinary, std::string(200, 'q')));
}

TEST_CASE("latency histogram percentiles") {
  LatencyHistogram h;
  CHECK(h.percentile_ms(0.5) == 0);
  for (int i = 1; i <= 100; ++i) h.add(i * 1000);  // 1..100 ms
  CHECK(h.count() == 100);
  CHECK(h.percentile_ms(0.5) == Approx(50.0).margin(0.02));
  CHECK(h.percentile_ms(0.99) == Approx(99.0).margin(0.02));
  CHECK(h.max_ms() == Approx(100.0));
  LatencyHistogram g;
  g.add(-5);             // clock trouble: counted as 0
  g.add(2500000);        // 2.5 s: coarse buckets
  g.add(90000000);       // over 60 s: overflow bucket
  CHECK(g.negative() == 1);
  h.merge(g);
  CHECK(h.count() == 103);
  CHECK(h.percentile_ms(1.0) == Approx(90000.0));
  CHECK(h.percentile_ms(0.0) == Approx(0.01));  // the 0..10 µs bucket's upper bound
  LatencyHistogram c;
  c.add(2500000);
  CHECK(c.percentile_ms(0.5) == Approx(2500.0).margin(1.0));
  CHECK(percentile({}, 0.5) == 0);
  CHECK(percentile({3, 1, 2}, 0.5) == 2);
  CHECK(percentile({3, 1, 2}, 0.99) == 3);
}
