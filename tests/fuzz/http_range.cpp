// Fuzz target: HTTP Range header values (VOD and file downloads). The size
// comes from the first 8 input bytes so that small and huge sizes, and 0,
// are all explored; the rest is the header value.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "protocol/http_range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t len = 0;
  if (size >= 8) {
    std::memcpy(&len, data, 8);
    data += 8;
    size -= 8;
    // Mostly small sizes, where ranges clamp and run out; sometimes huge ones.
    if (!(len >> 63)) len %= 100000;
  }
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = weir::protocol::parse_http_range(in, len);
  using Kind = weir::protocol::HttpRange::Kind;
  if (r.kind == Kind::kSatisfiable) {
    if (!(r.first <= r.last && r.last < len)) __builtin_trap();
    if (r.length() == 0) __builtin_trap();
    auto cr = weir::protocol::content_range(r.first, r.last, len);
    if (cr.size() < 9) __builtin_trap();
  } else if (r.first != 0 || r.last != 0) {
    __builtin_trap();
  }
  return 0;
}
