// Fuzz target: SRT stream id parsing. Aborts if an accepted id breaks the
// documented invariants (names non-empty and of [A-Za-z0-9_.-], standard
// keys not in `extra`), if an error has no reason or no kind, or if
// formatting an accepted id does not parse back to the same value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/srt_streamid.h"

using namespace weir::protocol;

namespace {

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

bool same(const SrtStreamId& a, const SrtStreamId& b) {
  return a.app == b.app && a.stream == b.stream && a.mode == b.mode && a.user == b.user && a.session == b.session &&
         a.host == b.host && a.extra == b.extra;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  SrtStreamIdError kind = SrtStreamIdError::kNone;
  auto r = parse_srt_streamid(text, &kind);
  if (!r.is_ok()) {
    if (kind == SrtStreamIdError::kNone || r.error().empty()) abort();
    if (r.error().find('\n') != std::string::npos) abort();
    return 0;
  }
  if (kind != SrtStreamIdError::kNone) abort();
  const SrtStreamId& id = *r;
  if (!valid_name(id.app) || !valid_name(id.stream)) abort();
  for (auto& [k, v] : id.extra) {
    if (k.empty() || k == "r" || k == "m" || k == "u" || k == "s" || k == "h" || k == "t") abort();
    if (k.find(',') != std::string::npos || v.find(',') != std::string::npos) abort();
  }
  std::string again = format_srt_streamid(id);
  // Formatting may only grow the id past the limit when the input was near it.
  if (again.size() > kSrtStreamIdMaxSize) return 0;
  auto r2 = parse_srt_streamid(again);
  if (!r2.is_ok() || !same(id, *r2)) abort();
  return 0;
}
