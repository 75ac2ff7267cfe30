// Fuzz target: the HLS media playlist parser (load generator, HLS edge).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/m3u8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = weir::protocol::parse_m3u8(text);
  if (r.is_ok() && r->segments.size() > weir::protocol::kMaxPlaylistEntries) __builtin_trap();
  // Attribute lookup on arbitrary attribute lists.
  (void)weir::protocol::m3u8_attribute(text, "URI");
  (void)weir::protocol::m3u8_attribute(text, "DURATION");
  return 0;
}
