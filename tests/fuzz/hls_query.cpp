// Fuzz target: the HLS playlist query parser (time-shift and LL-HLS directives).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/hls_query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = weir::protocol::parse_hls_query(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.is_ok()) {
    // Invariants the handlers rely on.
    if (r->part && !r->msn) __builtin_trap();
    if (r->delay_s && *r->delay_s < 0) __builtin_trap();
    if (r->end_unix_s && (!r->start_unix_s || *r->end_unix_s <= *r->start_unix_s)) __builtin_trap();
  }
  return 0;
}
