#include "record/asset_id.h"

#include <sys/random.h>

#include <cerrno>
#include <random>

namespace weir::record {

namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

// 64 bits from getrandom(2); the blocking-until-seeded default is right for
// ids (it only blocks early at boot). Falls back to std::random_device.
uint64_t random64() {
  uint64_t v = 0;
  auto* p = reinterpret_cast<unsigned char*>(&v);
  size_t got = 0;
  while (got < sizeof(v)) {
    ssize_t n = getrandom(p + got, sizeof(v) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += size_t(n);
  }
  if (got == sizeof(v)) return v;
  std::random_device rd;
  return (uint64_t(rd()) << 32) ^ uint64_t(rd());
}

}  // namespace

std::string new_asset_id(int64_t now_ms) {
  uint64_t t = now_ms < 0 ? 0 : uint64_t(now_ms);
  uint64_t r = random64();
  std::string id(kAssetIdLength, '0');
  // Time: 10 digits of 5 bits = the low 50 bits, most significant first.
  for (int i = 9; i >= 0; --i) {
    id[size_t(i)] = kAlphabet[t & 31];
    t >>= 5;
  }
  // Random: 13 digits of 5 bits = 65 bits (the top one is always 0).
  for (int i = 12; i >= 0; --i) {
    id[size_t(10 + i)] = kAlphabet[r & 31];
    r >>= 5;
  }
  return id;
}

bool valid_asset_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxAssetIdLength) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if (i > 0 && (c == '-' || c == '_')) continue;
    return false;
  }
  return true;
}

}  // namespace weir::record
