#include "protocol/ws_frame.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace weir::protocol;
using weir::core::ByteView;

namespace {

using Bytes = std::vector<uint8_t>;

// A masked client frame with the given header bits.
Bytes client_frame(uint8_t opcode, bool fin, const std::string& payload, uint8_t rsv = 0,
                   const uint8_t key[4] = nullptr) {
  static const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (!key) key = kKey;
  Bytes out;
  out.push_back(uint8_t((fin ? 0x80 : 0) | rsv | opcode));
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(uint8_t(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(0x80 | 126);
    out.push_back(uint8_t(n >> 8));
    out.push_back(uint8_t(n));
  } else {
    out.push_back(0x80 | 127);
    for (int i = 7; i >= 0; --i) out.push_back(uint8_t(uint64_t(n) >> (8 * i)));
  }
  out.insert(out.end(), key, key + 4);
  for (size_t i = 0; i < n; ++i) out.push_back(uint8_t(payload[i]) ^ key[i & 3]);
  return out;
}

struct Got {
  uint8_t opcode;
  std::string payload;
};

struct Collector {
  std::vector<Got> got;
  WsFrameParser::Callback cb() {
    return [this](const WsMessage& m) {
      got.push_back({m.opcode, std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size())});
    };
  }
};

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string feed_error(const Bytes& wire, size_t max = 1 << 20, uint16_t* code = nullptr) {
  WsFrameParser p(max);
  Collector c;
  auto st = p.feed(ByteView(wire), c.cb());
  if (code) *code = p.close_code();
  return st ? "" : st.message();
}

}  // namespace

TEST_CASE("ws: accept key from RFC 6455 section 1.3") {
  CHECK(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ="));
  CHECK_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25j*Q=="));
  CHECK_FALSE(valid_websocket_key(""));
}

TEST_CASE("ws: server frame headers (RFC 6455 5.7 examples)") {
  uint8_t h[10];
  REQUIRE(write_ws_frame_header(h, ws::kText, true, 5) == 2);
  CHECK(Bytes(h, h + 2) == Bytes{0x81, 0x05});
  REQUIRE(write_ws_frame_header(h, ws::kText, false, 3) == 2);
  CHECK(Bytes(h, h + 2) == Bytes{0x01, 0x03});
  REQUIRE(write_ws_frame_header(h, ws::kBinary, true, 256) == 4);
  CHECK(Bytes(h, h + 4) == Bytes{0x82, 0x7E, 0x01, 0x00});
  REQUIRE(write_ws_frame_header(h, ws::kBinary, true, 65535) == 4);
  CHECK(Bytes(h, h + 4) == Bytes{0x82, 0x7E, 0xFF, 0xFF});
  REQUIRE(write_ws_frame_header(h, ws::kBinary, true, 65536) == 10);
  CHECK(Bytes(h, h + 10) == Bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0});
  REQUIRE(write_ws_frame_header(h, ws::kBinary, true, 125) == 2);
  CHECK(h[1] == 125);
  REQUIRE(write_ws_frame_header(h, ws::kBinary, true, 126) == 4);

  auto f = make_ws_frame(ws::kPing, weir::core::as_bytes("Hello"));
  CHECK(Bytes(f.data(), f.data() + f.size()) == Bytes{0x89, 0x05, 'H', 'e', 'l', 'l', 'o'});
  auto c = make_ws_close_frame(1000, "bye");
  CHECK(Bytes(c.data(), c.data() + c.size()) == Bytes{0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'});
  auto big = make_ws_close_frame(1001, std::string(300, 'r'));
  CHECK(big.size() == 2 + 125);
}

TEST_CASE("ws: masked Hello from RFC 6455 5.7") {
  const Bytes wire = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  WsFrameParser p(1024);
  Collector c;
  REQUIRE(p.feed(ByteView(wire), c.cb()));
  REQUIRE(c.got.size() == 1);
  CHECK(c.got[0].opcode == ws::kText);
  CHECK(c.got[0].payload == "Hello");

  // Same, split at every byte.
  for (size_t split = 0; split <= wire.size(); ++split) {
    WsFrameParser q(1024);
    Collector d;
    REQUIRE(q.feed(ByteView(wire).subspan(0, split), d.cb()));
    REQUIRE(q.feed(ByteView(wire).subspan(split), d.cb()));
    REQUIRE(d.got.size() == 1);
    CHECK(d.got[0].payload == "Hello");
  }
}

TEST_CASE("ws: masked pong from RFC 6455 5.7") {
  const Bytes wire = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  WsFrameParser p(1024);
  Collector c;
  REQUIRE(p.feed(ByteView(wire), c.cb()));
  REQUIRE(c.got.size() == 1);
  CHECK(c.got[0].opcode == ws::kPong);
  CHECK(c.got[0].payload == "Hello");
}

TEST_CASE("ws: fragmented message with a ping in between") {
  const Bytes wire = cat({client_frame(ws::kText, false, "Hel"), client_frame(ws::kPing, true, "p!"),
                          client_frame(ws::kContinuation, false, "l"), client_frame(ws::kContinuation, true, "o"),
                          client_frame(ws::kBinary, true, "")});
  for (size_t step : {size_t(1), size_t(3), size_t(7), wire.size()}) {
    WsFrameParser p(1024);
    Collector c;
    for (size_t i = 0; i < wire.size(); i += step)
      REQUIRE(p.feed(ByteView(wire).subspan(i, std::min(step, wire.size() - i)), c.cb()));
    REQUIRE(c.got.size() == 3);
    CHECK(c.got[0].opcode == ws::kPing);
    CHECK(c.got[0].payload == "p!");
    CHECK(c.got[1].opcode == ws::kText);
    CHECK(c.got[1].payload == "Hello");
    CHECK(c.got[2].opcode == ws::kBinary);
    CHECK(c.got[2].payload.empty());
  }
}

TEST_CASE("ws: 16-bit and 64-bit lengths") {
  std::string p256(256, '\0');
  for (size_t i = 0; i < p256.size(); ++i) p256[i] = char(i);
  std::string p64k(65536 + 17, 'x');
  p64k[70] = 'y';
  const Bytes wire = cat({client_frame(ws::kBinary, true, p256), client_frame(ws::kBinary, true, p64k)});
  CHECK(wire[1] == (0x80 | 126));
  WsFrameParser p(1 << 20);
  Collector c;
  REQUIRE(p.feed(ByteView(wire), c.cb()));
  REQUIRE(c.got.size() == 2);
  CHECK(c.got[0].payload == p256);
  CHECK(c.got[1].payload == p64k);
}

TEST_CASE("ws: close frame ends parsing") {
  const Bytes wire = cat({client_frame(ws::kClose, true, std::string("\x03\xE8", 2) + "bye"),
                          client_frame(ws::kText, true, "ignored")});
  WsFrameParser p(1024);
  Collector c;
  REQUIRE(p.feed(ByteView(wire), c.cb()));
  REQUIRE(c.got.size() == 1);
  CHECK(c.got[0].opcode == ws::kClose);
  CHECK(c.got[0].payload == std::string("\x03\xE8", 2) + "bye");
  CHECK(p.closed());
  // Empty close is fine too.
  WsFrameParser q(1024);
  Collector d;
  REQUIRE(q.feed(ByteView(client_frame(ws::kClose, true, "")), d.cb()));
  CHECK(q.closed());
}

TEST_CASE("ws: protocol errors") {
  uint16_t code = 0;
  CHECK(feed_error({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, 1024, &code) == "ws: unmasked client frame");
  CHECK(code == ws::kCloseProtocolError);
  CHECK(feed_error(client_frame(ws::kText, true, "x", 0x40)) == "ws: reserved bits set without an extension");
  CHECK(feed_error(client_frame(0x3, true, "x")) == "ws: reserved opcode 3");
  CHECK(feed_error(client_frame(0xB, true, "x")) == "ws: reserved opcode 11");
  CHECK(feed_error(client_frame(ws::kPing, false, "x")) == "ws: fragmented control frame");
  CHECK(feed_error(client_frame(ws::kPing, true, std::string(126, 'p'))) ==
        "ws: control frame payload of more than 125 bytes");
  CHECK(feed_error(client_frame(ws::kContinuation, true, "x")) == "ws: continuation frame without a message");
  CHECK(feed_error(cat({client_frame(ws::kText, false, "a"), client_frame(ws::kBinary, true, "b")})) ==
        "ws: new data frame inside a fragmented message");
  CHECK(feed_error(client_frame(ws::kClose, true, "x")) == "ws: close frame with a 1-byte payload");
  CHECK(feed_error(client_frame(ws::kClose, true, std::string("\x03\xED", 2))) == "ws: invalid close code 1005");
  // Non-minimal lengths.
  CHECK(feed_error({0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4}) == "ws: 16-bit length used for a payload under 126 bytes");
  CHECK(feed_error({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 2, 3, 4}) ==
        "ws: 64-bit length used for a payload under 65536 bytes");
  CHECK(feed_error({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}) == "ws: 64-bit length with the top bit set");
}

TEST_CASE("ws: message size cap covers all fragments") {
  uint16_t code = 0;
  CHECK(feed_error(client_frame(ws::kBinary, true, std::string(101, 'a')), 100, &code) ==
        "ws: message exceeds 100 bytes");
  CHECK(code == ws::kCloseTooBig);
  CHECK(feed_error(cat({client_frame(ws::kBinary, false, std::string(60, 'a')),
                        client_frame(ws::kContinuation, true, std::string(41, 'b'))}),
                   100) == "ws: message exceeds 100 bytes");
  CHECK(feed_error(client_frame(ws::kBinary, true, std::string(100, 'a')), 100) == "");
  // A huge declared length fails at the header, before any payload arrives.
  CHECK(feed_error({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, 1 << 20) ==
        "ws: message exceeds 1048576 bytes");
  // The parser stays failed.
  WsFrameParser p(10);
  Collector c;
  CHECK_FALSE(p.feed(ByteView(client_frame(ws::kBinary, true, std::string(11, 'a'))), c.cb()));
  CHECK_FALSE(p.feed(ByteView(client_frame(ws::kBinary, true, "ok")), c.cb()));
  CHECK(c.got.empty());
}
