// Fuzz target: srt:// caller URLs (core/srt_url.h). Aborts if an accepted URL
// breaks the documented invariants (host non-empty, port 1..65535, stream id
// at most 512 bytes and free of control bytes, latency and pbkeylen in range,
// pbkeylen only with a passphrase) or an error has no reason.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/srt_url.h"

using namespace weir::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = parse_srt_url(text);
  if (!u) {
    if (u.error().empty()) std::abort();
    return 0;
  }
  if (u->host.empty() || u->port == 0) std::abort();
  if (u->streamid.size() > 512) std::abort();
  for (char c : u->streamid)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
  if (u->latency_ms < -1 || u->latency_ms > 60000) std::abort();
  if (u->pbkeylen != 0 && (u->passphrase.empty() || (u->pbkeylen != 16 && u->pbkeylen != 24 && u->pbkeylen != 32)))
    std::abort();
  if (!u->passphrase.empty() && (u->passphrase.size() < 10 || u->passphrase.size() > 79)) std::abort();
  if (u->authority().rfind("srt://", 0) != 0) std::abort();
  return 0;
}
