#include "protocol/rtmp_handshake.h"

#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace weir::protocol {

namespace {

constexpr size_t kDigestLen = 32;

// Public constants of the Flash handshake ("Genuine Adobe Flash Player 001",
// "Genuine Adobe Flash Media Server 001", each followed by the same 32 bytes),
// as documented by rtmpdump, FFmpeg, nginx-rtmp and others.
constexpr uint8_t kKeyTail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8,
                                  0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
                                  0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
                                  0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};
constexpr char kPlayerText[] = "Genuine Adobe Flash Player 001";        // 30 bytes
constexpr char kServerText[] = "Genuine Adobe Flash Media Server 001";  // 36 bytes
constexpr size_t kPlayerTextLen = sizeof(kPlayerText) - 1;
constexpr size_t kServerTextLen = sizeof(kServerText) - 1;
static_assert(kPlayerTextLen == 30 && kServerTextLen == 36);

struct Keys {
  uint8_t player[kPlayerTextLen + 32];
  uint8_t server[kServerTextLen + 32];
  Keys() {
    std::memcpy(player, kPlayerText, kPlayerTextLen);
    std::memcpy(player + kPlayerTextLen, kKeyTail, 32);
    std::memcpy(server, kServerText, kServerTextLen);
    std::memcpy(server + kServerTextLen, kKeyTail, 32);
  }
};

const Keys& keys() {
  static const Keys k;
  return k;
}

const uint8_t* key_bytes(HandshakeKey k) {
  return k == HandshakeKey::kPlayer ? keys().player : keys().server;
}

void hmac_sha256(const uint8_t* key, size_t key_len, const uint8_t* data, size_t len,
                 uint8_t out[kDigestLen]) {
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key, int(key_len), data, len, out, &out_len);
}

// HMAC over the 1536-byte block with the digest bytes at `gap` left out.
void digest_without_gap(const uint8_t* buf, size_t gap, const uint8_t* key, size_t key_len,
                        uint8_t out[kDigestLen]) {
  uint8_t tmp[kHandshakeSize - kDigestLen];
  std::memcpy(tmp, buf, gap);
  std::memcpy(tmp + gap, buf + gap + kDigestLen, kHandshakeSize - gap - kDigestLen);
  hmac_sha256(key, key_len, tmp, sizeof(tmp), out);
}

void random_fill(uint8_t* p, size_t n) {
  if (RAND_bytes(p, int(n)) != 1) {
    // Handshake randomness is not a secret; fall back rather than fail.
    for (size_t i = 0; i < n; ++i) p[i] = uint8_t(i * 131 + 7);
  }
}

constexpr size_t kSchemaBases[2] = {772, 8};

}  // namespace

size_t handshake_digest_offset(const uint8_t* c1, size_t base) {
  size_t sum = size_t(c1[base]) + c1[base + 1] + c1[base + 2] + c1[base + 3];
  return sum % 728 + base + 4;
}

size_t handshake_find_digest(const uint8_t* c1, HandshakeKey key, size_t key_len) {
  for (size_t base : kSchemaBases) {
    size_t pos = handshake_digest_offset(c1, base);
    uint8_t d[kDigestLen];
    digest_without_gap(c1, pos, key_bytes(key), key_len, d);
    if (CRYPTO_memcmp(d, c1 + pos, kDigestLen) == 0) return pos;
  }
  return 0;
}

size_t handshake_imprint_digest(uint8_t* buf, size_t base, HandshakeKey key, size_t key_len) {
  size_t pos = handshake_digest_offset(buf, base);
  uint8_t d[kDigestLen];
  digest_without_gap(buf, pos, key_bytes(key), key_len, d);
  std::memcpy(buf + pos, d, kDigestLen);
  return pos;
}

// ---------------------------------------------------------------- server

void HandshakeServer::respond(core::ByteWriter& out) {
  const uint8_t* c1 = c0c1_.data() + 1;
  size_t c1_digest = handshake_find_digest(c1, HandshakeKey::kPlayer, kPlayerTextLen);
  digest_ = c1_digest != 0;

  out.u8(kRtmpVersion);
  uint8_t* s1 = out.grow(kHandshakeSize);
  std::memset(s1, 0, 8);  // time 0
  random_fill(s1 + 8, kHandshakeSize - 8);
  if (!digest_) {
    // Simple handshake: S1 version zero, S2 echoes C1.
    out.bytes(core::ByteView(c1, kHandshakeSize));
    return;
  }
  // Server version 4.5.0.1 (non-zero marks the digest scheme); digest in the
  // same schema the client used.
  s1[4] = 4;
  s1[5] = 5;
  s1[6] = 0;
  s1[7] = 1;
  size_t base = c1_digest >= 776 ? 772 : 8;
  handshake_imprint_digest(s1, base, HandshakeKey::kServer, kServerTextLen);

  uint8_t* s2 = out.grow(kHandshakeSize);
  random_fill(s2, kHandshakeSize);
  uint8_t key[kDigestLen];
  hmac_sha256(keys().server, sizeof(keys().server), c1 + c1_digest, kDigestLen, key);
  hmac_sha256(key, kDigestLen, s2, kHandshakeSize - kDigestLen, s2 + kHandshakeSize - kDigestLen);
}

core::Result<size_t> HandshakeServer::feed(core::ByteView in, core::ByteWriter& out) {
  if (state_ == State::kFailed) return failure_;
  size_t used = 0;
  if (state_ == State::kC0C1) {
    size_t take = std::min(c0c1_.size() - have_, in.size());
    if (have_ == 0 && take > 0) {
      uint8_t v = in[0];
      if (v != kRtmpVersion) {
        state_ = State::kFailed;
        if (v == 6 || v == 8) {
          failure_ = core::Status::errorf(
              "rtmp handshake: encrypted RTMPE (version {}) is not supported", v);
        } else {
          failure_ = core::Status::errorf("rtmp handshake: unsupported version byte {} (want 3)", v);
        }
        return failure_;
      }
    }
    if (take > 0) std::memcpy(c0c1_.data() + have_, in.data(), take);
    have_ += take;
    used += take;
    if (have_ < c0c1_.size()) return used;
    respond(out);
    state_ = State::kC2;
  }
  if (state_ == State::kC2) {
    size_t take = std::min(kHandshakeSize - c2_have_, in.size() - used);
    c2_have_ += take;
    used += take;
    if (c2_have_ == kHandshakeSize) state_ = State::kDone;
  }
  return used;
}

// ---------------------------------------------------------------- client

void HandshakeClient::start(core::ByteWriter& out, bool digest) {
  digest_ = digest;
  std::memset(c1_.data(), 0, 8);
  random_fill(c1_.data() + 8, kHandshakeSize - 8);
  if (digest) {
    // Any non-zero version announces the digest scheme; this is FFmpeg's.
    c1_[4] = 9;
    c1_[5] = 0;
    c1_[6] = 124;
    c1_[7] = 2;
    c1_digest_pos_ = handshake_imprint_digest(c1_.data(), 8, HandshakeKey::kPlayer, kPlayerTextLen);
  }
  out.u8(kRtmpVersion);
  out.bytes(core::ByteView(c1_.data(), c1_.size()));
  state_ = State::kS0S1S2;
  have_ = 0;
}

core::Status HandshakeClient::finish(core::ByteWriter& out) {
  if (s_[0] != kRtmpVersion) {
    return core::Status::errorf("rtmp handshake: server sent version byte {} (want 3)", s_[0]);
  }
  const uint8_t* s1 = s_.data() + 1;
  const uint8_t* s2 = s1 + kHandshakeSize;
  size_t s1_digest = 0;
  if (digest_) s1_digest = handshake_find_digest(s1, HandshakeKey::kServer, kServerTextLen);
  server_digest_ = s1_digest != 0;
  if (!server_digest_) {
    out.bytes(core::ByteView(s1, kHandshakeSize));  // C2 echoes S1
    return core::Status::ok();
  }
  uint8_t key[kDigestLen];
  uint8_t sig[kDigestLen];
  hmac_sha256(keys().server, sizeof(keys().server), c1_.data() + c1_digest_pos_, kDigestLen, key);
  hmac_sha256(key, kDigestLen, s2, kHandshakeSize - kDigestLen, sig);
  if (CRYPTO_memcmp(sig, s2 + kHandshakeSize - kDigestLen, kDigestLen) != 0) {
    return core::Status::error("rtmp handshake: S2 signature does not match our C1 digest");
  }
  uint8_t* c2 = out.grow(kHandshakeSize);
  random_fill(c2, kHandshakeSize);
  hmac_sha256(keys().player, sizeof(keys().player), s1 + s1_digest, kDigestLen, key);
  hmac_sha256(key, kDigestLen, c2, kHandshakeSize - kDigestLen, c2 + kHandshakeSize - kDigestLen);
  return core::Status::ok();
}

core::Result<size_t> HandshakeClient::feed(core::ByteView in, core::ByteWriter& out) {
  if (state_ == State::kFailed) return failure_;
  if (state_ == State::kIdle) return core::Status::error("rtmp handshake: client not started");
  if (state_ == State::kDone) return size_t(0);
  size_t take = std::min(s_.size() - have_, in.size());
  if (have_ == 0 && take > 0 && in[0] != kRtmpVersion) {
    state_ = State::kFailed;
    failure_ = core::Status::errorf("rtmp handshake: server sent version byte {} (want 3)", in[0]);
    return failure_;
  }
  if (take > 0) std::memcpy(s_.data() + have_, in.data(), take);
  have_ += take;
  if (have_ == s_.size()) {
    if (auto st = finish(out); !st) {
      state_ = State::kFailed;
      failure_ = st;
      return failure_;
    }
    state_ = State::kDone;
  }
  return take;
}

}  // namespace weir::protocol
