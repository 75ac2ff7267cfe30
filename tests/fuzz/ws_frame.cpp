// libFuzzer target: WsFrameParser over arbitrary bytes, fed in pieces whose
// sizes come from the first input byte.
#include <cstdint>
#include <cstdlib>

#include "protocol/ws_frame.h"

using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = size_t(data[0] % 32) + 1;
  ++data;
  --size;
  constexpr size_t kMax = 4096;
  WsFrameParser p(kMax);
  auto cb = [](const WsMessage& m) {
    switch (m.opcode) {
      case ws::kText:
      case ws::kBinary:
        if (m.payload.size() > kMax) abort();
        break;
      case ws::kClose:
      case ws::kPing:
      case ws::kPong:
        if (m.payload.size() > ws::kMaxControlPayload) abort();
        break;
      default:
        abort();
    }
  };
  for (size_t off = 0; off < size; off += step) {
    auto st = p.feed(weir::core::ByteView(data + off, std::min(step, size - off)), cb);
    if (!st) {
      if (p.close_code() != ws::kCloseProtocolError && p.close_code() != ws::kCloseTooBig) abort();
      break;
    }
  }
  // Frame headers written by the server must parse back (after masking).
  uint8_t hdr[ws::kMaxFrameHeader];
  uint64_t len = size * 1000003ull;
  size_t n = write_ws_frame_header(hdr, ws::kBinary, true, len);
  if (n != 2 && n != 4 && n != 10) abort();
  return 0;
}
