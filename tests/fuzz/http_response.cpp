// Fuzz target: the client-side HTTP/1.1 response reader (load generator,
// edge pullers), fed in pieces.
#include <cstddef>
#include <cstdint>

#include "protocol/http_response_reader.h"

namespace {
struct Sink final : weir::protocol::HttpResponseReader::Handler {
  size_t body = 0;
  void on_head(const weir::protocol::HttpResponseHead& h) override {
    if (h.status < 100 || h.status > 999) __builtin_trap();
  }
  void on_body(weir::core::ByteView b) override { body += b.size(); }
  void on_complete() override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Sink sink;
  weir::protocol::HttpResponseReader reader(sink);
  const size_t step = 1 + data[0] % 64;
  size_t pos = 1;
  while (pos < size) {
    size_t n = std::min(step, size - pos);
    auto r = reader.feed(weir::core::ByteView(data + pos, n));
    if (!r.is_ok()) return 0;
    if (*r > n) __builtin_trap();
    if (*r < n) break;  // upgraded: the rest is another protocol
    pos += n;
  }
  (void)reader.finish();
  if (sink.body > size) __builtin_trap();
  return 0;
}
