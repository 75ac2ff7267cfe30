#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/buffer.h"
#include "protocol/rtmp_handshake.h"

using namespace weir;
using namespace weir::protocol;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes to_bytes(core::ByteView v) { return Bytes(v.begin(), v.end()); }

// Feeds `data` to the server in pieces of `step` bytes; returns total consumed.
size_t server_feed(HandshakeServer& s, const Bytes& data, size_t step, core::ByteWriter& out) {
  size_t pos = 0, used = 0;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    auto r = s.feed(core::ByteView(data.data() + pos, n), out);
    REQUIRE(r.is_ok());
    used += *r;
    pos += n;
  }
  return used;
}

size_t client_feed(HandshakeClient& c, const Bytes& data, size_t step, core::ByteWriter& out) {
  size_t pos = 0, used = 0;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    auto r = c.feed(core::ByteView(data.data() + pos, n), out);
    REQUIRE(r.is_ok());
    used += *r;
    pos += n;
  }
  return used;
}

const char kFmsKeyText[] = "Genuine Adobe Flash Media Server 001";
const uint8_t kKeyTail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                              0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                              0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

Bytes hmac(const Bytes& key, const uint8_t* data, size_t len) {
  Bytes out(32);
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), data, len, out.data(), &n);
  return out;
}

}  // namespace

TEST_CASE("handshake: digest client against server", "[rtmp_handshake]") {
  for (size_t step : {size_t(1), size_t(7), size_t(1537), size_t(5000)}) {
    INFO("step " << step);
    HandshakeClient client;
    HandshakeServer server;
    core::ByteWriter c_out, s_out;
    client.start(c_out, true);
    Bytes c0c1 = to_bytes(c_out.view());
    REQUIRE(c0c1.size() == 1 + kHandshakeSize);
    CHECK(c0c1[0] == 3);
    // C1 carries a Flash Player digest in the bytes-8..11 schema.
    CHECK(handshake_find_digest(c0c1.data() + 1, HandshakeKey::kPlayer, 30) ==
          handshake_digest_offset(c0c1.data() + 1, 8));

    CHECK(server_feed(server, c0c1, step, s_out) == c0c1.size());
    CHECK(server.used_digest());
    CHECK_FALSE(server.done());
    Bytes s012 = to_bytes(s_out.view());
    REQUIRE(s012.size() == 1 + 2 * kHandshakeSize);
    CHECK(s012[0] == 3);

    // S2's last 32 bytes: HMAC(HMAC(68-byte FMS key, C1 digest), S2[0..1504)).
    Bytes fms(kFmsKeyText, kFmsKeyText + 36);
    fms.insert(fms.end(), kKeyTail, kKeyTail + 32);
    size_t c1_digest = handshake_find_digest(c0c1.data() + 1, HandshakeKey::kPlayer, 30);
    Bytes key = hmac(fms, c0c1.data() + 1 + c1_digest, 32);
    const uint8_t* s2 = s012.data() + 1 + kHandshakeSize;
    CHECK(hmac(key, s2, kHandshakeSize - 32) == Bytes(s2 + kHandshakeSize - 32, s2 + kHandshakeSize));
    // S1 digest with the 36-byte FMS key, same schema as C1.
    CHECK(handshake_find_digest(s012.data() + 1, HandshakeKey::kServer, 36) ==
          handshake_digest_offset(s012.data() + 1, 8));

    core::ByteWriter c2_out;
    CHECK(client_feed(client, s012, step, c2_out) == s012.size());
    CHECK(client.done());
    CHECK(client.used_digest());
    Bytes c2 = to_bytes(c2_out.view());
    REQUIRE(c2.size() == kHandshakeSize);

    // C2 plus the start of the chunk stream: the server stops after C2.
    Bytes tail = c2;
    tail.insert(tail.end(), {0x03, 0x00, 0x00, 0x00});
    core::ByteWriter none;
    size_t used = 0;
    for (size_t pos = 0; pos < tail.size() && !server.done();) {
      size_t n = std::min(step, tail.size() - pos);
      auto r = server.feed(core::ByteView(tail.data() + pos, n), none);
      REQUIRE(r.is_ok());
      used += *r;
      pos += n;
    }
    CHECK(server.done());
    CHECK(used == kHandshakeSize);
    CHECK(none.size() == 0);
    // Once done, nothing more is consumed.
    auto r = server.feed(core::ByteView(tail.data(), 4), none);
    REQUIRE(r.is_ok());
    CHECK(*r == 0);
  }
}

TEST_CASE("handshake: simple client gets an echo", "[rtmp_handshake]") {
  HandshakeClient client;
  HandshakeServer server;
  core::ByteWriter c_out, s_out;
  client.start(c_out, false);
  Bytes c0c1 = to_bytes(c_out.view());
  // A simple C1 has zero version bytes and no digest.
  CHECK(Bytes(c0c1.begin() + 5, c0c1.begin() + 9) == Bytes({0, 0, 0, 0}));
  CHECK(server_feed(server, c0c1, 100, s_out) == c0c1.size());
  CHECK_FALSE(server.used_digest());
  Bytes s012 = to_bytes(s_out.view());
  REQUIRE(s012.size() == 1 + 2 * kHandshakeSize);
  // S2 echoes C1.
  CHECK(Bytes(s012.begin() + 1 + kHandshakeSize, s012.end()) == Bytes(c0c1.begin() + 1, c0c1.end()));
  core::ByteWriter c2_out;
  CHECK(client_feed(client, s012, 3000, c2_out) == s012.size());
  CHECK(client.done());
  CHECK_FALSE(client.used_digest());
  // C2 echoes S1.
  CHECK(to_bytes(c2_out.view()) == Bytes(s012.begin() + 1, s012.begin() + 1 + kHandshakeSize));
  core::ByteWriter none;
  CHECK(server_feed(server, to_bytes(c2_out.view()), 1536, none) == kHandshakeSize);
  CHECK(server.done());
}

TEST_CASE("handshake: digest client against a simple-only server falls back", "[rtmp_handshake]") {
  HandshakeClient client;
  core::ByteWriter c_out;
  client.start(c_out, true);
  Bytes c0c1 = to_bytes(c_out.view());
  // A server that ignores digests: random S1 with zero version, S2 = C1.
  Bytes s012(1 + 2 * kHandshakeSize, 0x5A);
  s012[0] = 3;
  std::memset(s012.data() + 1, 0, 8);
  std::memcpy(s012.data() + 1 + kHandshakeSize, c0c1.data() + 1, kHandshakeSize);
  core::ByteWriter c2_out;
  CHECK(client_feed(client, s012, 4000, c2_out) == s012.size());
  CHECK(client.done());
  CHECK_FALSE(client.used_digest());
  CHECK(to_bytes(c2_out.view()) == Bytes(s012.begin() + 1, s012.begin() + 1 + kHandshakeSize));
}

TEST_CASE("handshake: server detects the bytes-772 digest schema", "[rtmp_handshake]") {
  Bytes c0c1(1 + kHandshakeSize);
  c0c1[0] = 3;
  for (size_t i = 1; i < c0c1.size(); ++i) c0c1[i] = uint8_t(i * 13);
  c0c1[5] = 10;  // non-zero version
  size_t pos = handshake_imprint_digest(c0c1.data() + 1, 772, HandshakeKey::kPlayer, 30);
  CHECK(pos >= 776);
  HandshakeServer server;
  core::ByteWriter out;
  CHECK(server_feed(server, c0c1, 1537, out) == c0c1.size());
  CHECK(server.used_digest());
  Bytes s012 = to_bytes(out.view());
  CHECK(handshake_find_digest(s012.data() + 1, HandshakeKey::kServer, 36) ==
        handshake_digest_offset(s012.data() + 1, 772));
  // A version-stamped C1 without a valid digest gets the simple answer.
  c0c1[pos + 1 + 3] ^= 1;
  HandshakeServer plain;
  core::ByteWriter out2;
  server_feed(plain, c0c1, 1537, out2);
  CHECK_FALSE(plain.used_digest());
}

TEST_CASE("handshake: version byte errors", "[rtmp_handshake]") {
  core::ByteWriter out;
  {
    HandshakeServer s;
    uint8_t b = 6;
    auto r = s.feed(core::ByteView(&b, 1), out);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.error() == "rtmp handshake: encrypted RTMPE (version 6) is not supported");
    // Stays failed.
    uint8_t three = 3;
    CHECK_FALSE(s.feed(core::ByteView(&three, 1), out).is_ok());
  }
  {
    HandshakeServer s;
    uint8_t b = 8;
    CHECK_THAT(s.feed(core::ByteView(&b, 1), out).error(), Catch::Contains("RTMPE (version 8)"));
  }
  {
    HandshakeServer s;
    Bytes b = {0x16, 0x03, 0x01};  // a TLS ClientHello on the RTMP port
    CHECK(s.feed(core::ByteView(b.data(), b.size()), out).error() ==
          "rtmp handshake: unsupported version byte 22 (want 3)");
  }
  CHECK(out.size() == 0);
  {
    HandshakeClient c;
    core::ByteWriter c_out;
    c.start(c_out, false);
    uint8_t b = 4;
    CHECK_THAT(c.feed(core::ByteView(&b, 1), c_out).error(),
               Catch::Contains("server sent version byte 4"));
  }
  {
    HandshakeServer s;
    auto r = s.feed(core::ByteView(), out);
    REQUIRE(r.is_ok());
    CHECK(*r == 0);
  }
}

TEST_CASE("handshake: client rejects a bad S2 signature", "[rtmp_handshake]") {
  HandshakeClient client;
  HandshakeServer server;
  core::ByteWriter c_out, s_out;
  client.start(c_out, true);
  Bytes c0c1 = to_bytes(c_out.view());
  server_feed(server, c0c1, 2000, s_out);
  Bytes s012 = to_bytes(s_out.view());
  s012.back() ^= 0xFF;
  core::ByteWriter c2_out;
  auto r = client.feed(core::ByteView(s012.data(), s012.size()), c2_out);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.error(), Catch::Contains("S2 signature"));
  CHECK_FALSE(client.done());
}
