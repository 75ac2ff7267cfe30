// Fuzz target: the RTMP handshake server (C0+C1+C2 from the input, fed in
// pieces) and the client's handling of S0+S1+S2.
#include <cstdint>
#include <cstdlib>

#include "core/buffer.h"
#include "protocol/rtmp_handshake.h"

using namespace weir;
using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = data[0] == 0 ? size : size_t(data[0]) * 13;
  ++data;
  --size;
  {
    HandshakeServer server;
    core::ByteWriter out;
    size_t pos = 0;
    while (pos < size) {
      size_t n = std::min(step, size - pos);
      auto r = server.feed(core::ByteView(data + pos, n), out);
      if (!r.is_ok()) break;
      if (*r > n) abort();
      pos += *r;
      if (*r < n) {
        if (!server.done()) abort();  // only a finished handshake leaves bytes over
        break;
      }
    }
    if (out.size() != 0 && out.size() != 1 + 2 * kHandshakeSize) abort();
  }
  {
    HandshakeClient client;
    core::ByteWriter out;
    client.start(out, true);
    out.clear();
    auto r = client.feed(core::ByteView(data, size), out);
    if (r.is_ok() && client.done() && out.size() != kHandshakeSize) abort();
  }
  return 0;
}
