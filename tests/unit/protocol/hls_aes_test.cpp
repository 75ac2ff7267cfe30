#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include "protocol/hls_aes.h"

using namespace weir;
using namespace weir::protocol;

TEST_CASE("HLS AES-128: the IV is the media sequence number; round trips; damage is an error") {
  auto key = make_hls_aes_key();
  REQUIRE(key);
  std::vector<uint8_t> clear(188 * 100);
  for (size_t i = 0; i < clear.size(); ++i) clear[i] = uint8_t(i * 7);
  auto sealed = hls_aes_encrypt(*key, 1796215279, core::ByteView(clear.data(), clear.size()));
  REQUIRE(sealed);
  CHECK(sealed->size() == clear.size() + 16);  // PKCS#7 adds a whole block to an aligned input
  // The same bytes as OpenSSL with the RFC 8216 5.2 IV spelled out.
  uint8_t iv[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6B, 0x10, 0x11, 0xEF};  // 1796215279 = 0x6B1011EF, big-endian
  std::vector<uint8_t> ref(clear.size() + 16);
  int n1 = 0, n2 = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), nullptr, key->data(), iv) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx, ref.data(), &n1, clear.data(), int(clear.size())) == 1);
  REQUIRE(EVP_EncryptFinal_ex(ctx, ref.data() + n1, &n2) == 1);
  EVP_CIPHER_CTX_free(ctx);
  ref.resize(size_t(n1 + n2));
  CHECK(std::equal(ref.begin(), ref.end(), sealed->data()));
  auto back = hls_aes_decrypt(*key, 1796215279, sealed->view());
  REQUIRE(back);
  CHECK(std::equal(clear.begin(), clear.end(), back->data()));
  auto wrong_msn = hls_aes_decrypt(*key, 1796215280, sealed->view());
  if (wrong_msn) CHECK_FALSE(std::equal(clear.begin(), clear.end(), wrong_msn->data()));
  HlsAesKey other = *key;
  other[0] ^= 1;
  auto wrong = hls_aes_decrypt(other, 1796215279, sealed->view());
  if (wrong) CHECK_FALSE(std::equal(clear.begin(), clear.end(), wrong->data()));  // padding may pass by chance
  auto cut = hls_aes_decrypt(*key, 1796215279, sealed->view().subspan(0, 100));  // not whole blocks
  REQUIRE_FALSE(cut);
  CHECK_THAT(cut.error(), Catch::Contains("decryption"));
}
