// Fuzz target: URL parsing (a load target, a client's configured URL) and
// the resolution of HLS playlist references against a base URL, which come
// from the network; plus the RTMP app/stream split.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/url.h"

using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The input is "URL\nREFERENCE" (or just a URL).
  size_t nl = in.find('\n');
  std::string_view text = in.substr(0, nl);
  auto u = parse_url(text);
  if (u) {
    if (u->path.empty() || u->path.front() != '/') __builtin_trap();
    (void)u->target();
    (void)u->to_string();
    auto again = parse_url(u->to_string());  // what we print parses back the same
    if (!again || again->host != u->host || again->port != u->port || again->path != u->path ||
        again->query != u->query)
      __builtin_trap();
    if (auto t = rtmp_target(*u)) {
      if (t->app.empty() || t->stream.empty() || t->stream.find('/') != std::string::npos) __builtin_trap();
    }
    if (nl != std::string_view::npos) {
      auto r = resolve_target(*u, in.substr(nl + 1));
      if (r && (r->empty() || r->front() != '/')) __builtin_trap();
    }
  }
  return 0;
}
