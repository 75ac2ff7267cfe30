// Fuzz target: the client-side HTTP/1.1 response reader (HTTP client, load
// generator), fed in pieces; the first byte picks the piece size and whether
// the first response answers a HEAD request.
#include <cstddef>
#include <cstdint>

#include "protocol/http_response_reader.h"

namespace {
using weir::protocol::HttpResponseReader;
struct Sink final : HttpResponseReader::Handler {
  size_t body = 0;
  void on_head(const weir::protocol::HttpResponseHead& h) override {
    if (h.status < 100 || h.status > 999) __builtin_trap();
    if (h.headers.size() > HttpResponseReader::kMaxHeaders) __builtin_trap();
    size_t bytes = h.reason.size();
    for (const auto& [name, value] : h.headers) {
      bytes += name.size() + value.size();
      for (char c : name)
        if (c >= 'A' && c <= 'Z') __builtin_trap();  // names are lower-cased
    }
    if (bytes > HttpResponseReader::kMaxHeadBytes) __builtin_trap();
  }
  void on_body(weir::core::ByteView b) override { body += b.size(); }
  void on_complete() override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Sink sink;
  HttpResponseReader reader(sink);
  if (data[0] & 0x80) reader.expect_no_body();
  const size_t step = 1 + data[0] % 64;
  size_t pos = 1;
  while (pos < size) {
    size_t n = std::min(step, size - pos);
    auto r = reader.feed(weir::core::ByteView(data + pos, n));
    if (!r.is_ok()) return 0;
    if (*r > n) __builtin_trap();
    if (reader.upgraded()) break;  // the rest is another protocol
    if (*r == 0) __builtin_trap();  // feed() stops after a response, never before one
    pos += *r;                      // a response ended inside the piece: feed the rest
  }
  (void)reader.finish();
  if (sink.body > size) __builtin_trap();
  return 0;
}
