// Fuzz target: query strings as key/value lists (signed-URL and callback
// parameters of every protocol).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/query_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = weir::protocol::parse_query_params(in);
  if (r.is_ok()) {
    if (r->size() > weir::protocol::kMaxQueryParams) __builtin_trap();
    for (const auto& [k, v] : *r)
      if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) __builtin_trap();
  }
  return 0;
}
