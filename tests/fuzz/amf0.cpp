// Fuzz target: AMF0 decoding (and AMF3 through the 0x11 switch). Checks that
// whatever decodes re-encodes and decodes back to the same values when the
// input stays inside AMF0 (AMF3 references may legitimately expand).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/buffer.h"
#include "protocol/amf0.h"
#include "protocol/amf3.h"

using namespace weir;
using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  auto values = amf0_decode_all(in);
  if (values.is_ok()) {
    for (const auto& v : *values) (void)v.debug_string(256);
    if (std::memchr(data, 0x11, size) == nullptr) {
      core::ByteWriter w;
      amf0_encode_all(w, *values);
      auto back = amf0_decode_all(w.view());
      if (!back.is_ok() || *back != *values) abort();
    }
  }
  // The same bytes as one AMF3 value.
  core::ByteReader r(in);
  AmfValue v;
  (void)amf3_decode(r, v);
  return 0;
}
