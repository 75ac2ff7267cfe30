// Fuzz target: OpusHead parsing (RFC 7845 5.1). A head that parses builds
// back and parses to the same fields.
#include <cstdint>
#include <cstdlib>

#include "protocol/opus_head.h"

using namespace weir;
using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto h = parse_opus_head(core::ByteView(data, size));
  if (!h) return 0;
  auto built = build_opus_head(h.value());
  if (!built) abort();
  auto back = parse_opus_head(built->view());
  if (!back || back->channels != h->channels || back->pre_skip != h->pre_skip ||
      back->mapping_family != h->mapping_family || back->stream_count != h->stream_count ||
      back->coupled_count != h->coupled_count || back->mapping != h->mapping ||
      back->output_gain != h->output_gain) {
    abort();
  }
  return 0;
}
