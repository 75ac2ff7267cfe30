#include "protocol/hls_aes.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace weir::protocol {

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::array<uint8_t, 16> iv_for(uint64_t msn) {
  std::array<uint8_t, 16> iv{};
  for (int i = 0; i < 8; ++i) iv[size_t(15 - i)] = uint8_t(msn >> (8 * i));
  return iv;
}

core::Result<core::Slice> run(bool encrypt, const HlsAesKey& key, uint64_t msn, core::ByteView in) {
  if (in.size() > size_t(INT32_MAX) - 16) return core::Status::errorf("segment of {} bytes is too large", in.size());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) return core::Status::error("EVP_CIPHER_CTX_new failed");
  const auto iv = iv_for(msn);
  core::ByteWriter out(in.size() + 16);
  uint8_t* dst = out.grow(in.size() + 16);
  int n1 = 0, n2 = 0;
  bool ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.data(), iv.data()) == 1 &&
                          EVP_EncryptUpdate(ctx.get(), dst, &n1, in.data(), int(in.size())) == 1 &&
                          EVP_EncryptFinal_ex(ctx.get(), dst + n1, &n2) == 1
                    : EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.data(), iv.data()) == 1 &&
                          EVP_DecryptUpdate(ctx.get(), dst, &n1, in.data(), int(in.size())) == 1 &&
                          EVP_DecryptFinal_ex(ctx.get(), dst + n1, &n2) == 1;
  if (!ok)
    return core::Status::errorf("segment {}: AES-128 {} failed", msn,
                                encrypt ? "encryption" : "decryption (wrong key or damaged data)");
  return out.finish().sub(0, size_t(n1 + n2));
}

}  // namespace

core::Result<HlsAesKey> make_hls_aes_key() {
  HlsAesKey k{};
  if (RAND_bytes(k.data(), int(k.size())) != 1) return core::Status::error("RAND_bytes failed: no key made");
  return k;
}

core::Result<core::Slice> hls_aes_encrypt(const HlsAesKey& key, uint64_t msn, core::ByteView clear) {
  return run(true, key, msn, clear);
}

core::Result<core::Slice> hls_aes_decrypt(const HlsAesKey& key, uint64_t msn, core::ByteView cipher) {
  return run(false, key, msn, cipher);
}

}  // namespace weir::protocol
