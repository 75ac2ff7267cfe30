// RTMP handshake (C0/C1/C2 and S0/S1/S2, 1 + 1536 + 1536 bytes each way).
//
// Two flavours exist in the wild:
//  - simple (RTMP spec 1.0, section 5.2): random C1/S1, S2 echoes C1;
//  - "complex" / digest (Flash Player 9+, FMS, OBS, FFmpeg, nginx-rtmp, SRS):
//    C1 carries an HMAC-SHA256 digest keyed with the 30-byte
//    "Genuine Adobe Flash Player 001" key at an offset derived from bytes
//    8..11 or 772..775; the server answers with an S1 digest (first 36 bytes
//    of the FMS key) and an S2 whose last 32 bytes are HMAC-SHA256 keyed with
//    HMAC-SHA256(68-byte FMS key, C1 digest). Flash Player refuses to play
//    H.264/AAC from a server that does not answer a digest C1 this way.
// The server detects which flavour C1 uses and answers in kind. C2 is read in
// full but not verified (many clients get it wrong). RTMPE (C0 = 6 or 8) is
// refused.
//
// Threads: one object per connection, on that connection's loop. After an
// error the object stays failed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

inline constexpr size_t kHandshakeSize = 1536;
inline constexpr uint8_t kRtmpVersion = 3;

class HandshakeServer {
 public:
  // Consumes handshake bytes from `in` and appends S0+S1+S2 to `out` once
  // C0+C1 are complete. Returns how many bytes of `in` were consumed: bytes
  // after C2 belong to the chunk stream and are left to the caller.
  core::Result<size_t> feed(core::ByteView in, core::ByteWriter& out);
  bool done() const { return state_ == State::kDone; }
  // C1 carried a valid digest and the complex answer was sent.
  bool used_digest() const { return digest_; }

 private:
  enum class State { kC0C1, kC2, kDone, kFailed };
  void respond(core::ByteWriter& out);

  State state_ = State::kC0C1;
  core::Status failure_;
  std::array<uint8_t, 1 + kHandshakeSize> c0c1_{};
  size_t have_ = 0;
  size_t c2_have_ = 0;
  bool digest_ = false;
};

class HandshakeClient {
 public:
  // Appends C0+C1. With digest=true C1 carries a Flash Player digest.
  void start(core::ByteWriter& out, bool digest);
  // Consumes S0+S1+S2, then appends C2. Returns bytes of `in` consumed (bytes
  // after S2 belong to the chunk stream). With digest=true and a digest S1,
  // S2's signature is verified (as FFmpeg does); an S1 without a digest falls
  // back to the simple handshake.
  core::Result<size_t> feed(core::ByteView in, core::ByteWriter& out);
  bool done() const { return state_ == State::kDone; }
  // The server answered with a digest S1 (complex handshake completed).
  bool used_digest() const { return server_digest_; }

 private:
  enum class State { kIdle, kS0S1S2, kDone, kFailed };
  core::Status finish(core::ByteWriter& out);

  State state_ = State::kIdle;
  core::Status failure_;
  bool digest_ = false;
  bool server_digest_ = false;
  size_t c1_digest_pos_ = 0;
  std::array<uint8_t, kHandshakeSize> c1_{};
  std::array<uint8_t, 1 + 2 * kHandshakeSize> s_{};
  size_t have_ = 0;
};

// Digest helpers (exposed for tests and tools). `key_len` selects how much of
// the Flash Player (30 or 62) or FMS (36 or 68) key is used.
enum class HandshakeKey { kPlayer, kServer };
// Offset of the 32-byte digest in a 1536-byte C1/S1 for the schema whose
// offset bytes start at `base` (8 or 772).
size_t handshake_digest_offset(const uint8_t* c1, size_t base);
// Finds a valid digest in a C1/S1 signed with the first key_len bytes of key;
// returns its offset or 0.
size_t handshake_find_digest(const uint8_t* c1, HandshakeKey key, size_t key_len);
// Writes a digest into buf (1536 bytes) for schema `base`; returns its offset.
size_t handshake_imprint_digest(uint8_t* buf, size_t base, HandshakeKey key, size_t key_len);

}  // namespace weir::protocol
