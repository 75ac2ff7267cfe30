// HLS AES-128 segment encryption (RFC 8216 4.3.2.4, 5.2): AES-128-CBC with
// PKCS#7 padding over the whole segment; without an IV attribute in
// EXT-X-KEY, the IV is the segment's media sequence number as a 128-bit
// big-endian integer. Every OpenSSL call is checked: a failure is an error,
// never a segment left in the clear.
//
// Pure functions, any thread.
#pragma once

#include <array>
#include <cstdint>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

using HlsAesKey = std::array<uint8_t, 16>;

// A fresh key from OpenSSL's CSPRNG (fails if RAND_bytes does).
core::Result<HlsAesKey> make_hls_aes_key();
core::Result<core::Slice> hls_aes_encrypt(const HlsAesKey& key, uint64_t msn, core::ByteView clear);
// Fails on a wrong key or damaged input (bad padding).
core::Result<core::Slice> hls_aes_decrypt(const HlsAesKey& key, uint64_t msn, core::ByteView cipher);

}  // namespace weir::protocol
