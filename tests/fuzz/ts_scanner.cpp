// Fuzz target: the header-only MPEG-TS scanner of the load generator's HLS
// players, and the latency-probe SEI finder it uses.
#include <cstddef>
#include <cstdint>

#include "protocol/sei_probe.h"
#include "protocol/ts_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  weir::core::ByteView all(data, size);
  weir::protocol::TsScanner scanner;
  auto cb = [](const weir::protocol::TsFrame& f) {
    if (f.dts_ms < -(int64_t(1) << 40)) __builtin_trap();
  };
  size_t pos = 0;
  while (pos < size) {
    size_t n = std::min<size_t>(1 + (data[pos] % 200), size - pos);
    if (!scanner.feed(all.subspan(pos, n), cb).is_ok()) break;
    pos += n;
  }
  scanner.end_segment(cb);
  (void)weir::protocol::find_probe_in_annexb(all);
  (void)weir::protocol::find_probe_in_avcc(all, 4);
  (void)weir::protocol::find_probe_in_avcc(all, 2);
  (void)weir::protocol::parse_probe_sei(all);
  (void)weir::protocol::annexb_has_keyframe_nal(all);
  return 0;
}
