// libFuzzer target: HttpRequestParser over arbitrary bytes, fed in pieces
// whose sizes come from the first input byte, re-feeding the unconsumed rest
// after each request as the server does.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/http_request_parser.h"

using weir::protocol::HttpRequestParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = size_t(data[0] % 64) + 1;
  ++data;
  --size;
  HttpRequestParser p(2048, 4096);
  std::string pending;
  size_t off = 0;
  int requests = 0;
  while (off < size || !pending.empty()) {
    if (off < size) {
      size_t n = std::min(step, size - off);
      pending.append(reinterpret_cast<const char*>(data + off), n);
      off += n;
    }
    bool progressed = true;
    while (progressed) {
      progressed = false;
      auto r = p.feed(weir::core::as_bytes(pending));
      if (!r) {
        if (!p.failed() || r.error().empty()) abort();
        if (p.error_status() < 400 || p.error_status() > 505) abort();
        return 0;
      }
      if (*r > pending.size()) abort();
      pending.erase(0, *r);
      if (*r > 0) progressed = true;
      (void)p.take_expect_continue();
      if (p.has_request()) {
        auto req = p.take_request();
        if (req.body.size() > 4096) abort();
        if (req.target.size() > HttpRequestParser::kMaxTargetBytes) abort();
        if (req.headers.size() > HttpRequestParser::kMaxHeaderCount) abort();
        if (req.path.find('\0') != std::string::npos) abort();
        (void)req.header("host");
        (void)req.query_param("a");
        ++requests;
        progressed = true;
      }
    }
    if (off >= size) break;
  }
  return 0;
}
