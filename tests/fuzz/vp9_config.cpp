// Fuzz target: VPCodecConfigurationRecord and VP9 frame headers (with
// superframe indexes). Records rebuild to what they parsed as; key frame
// headers give a size and a record that parses.
#include <cstdint>
#include <cstdlib>

#include "protocol/vp9_config.h"

using namespace weir;
using namespace weir::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  if (auto c = parse_vp9_codec_config(in); c.is_ok()) {
    auto back = parse_vp9_codec_config(build_vp9_codec_config(c.value()).view());
    if (!back || back->profile != c->profile || back->level != c->level || back->bit_depth != c->bit_depth ||
        back->chroma_subsampling != c->chroma_subsampling || back->full_range != c->full_range) {
      abort();
    }
  }
  if (auto h = parse_vp9_frame_header(in); h.is_ok() && h->keyframe) {
    if (h->width < 1 || h->width > 65536 || h->height < 1 || h->height > 65536) abort();
    if (!parse_vp9_codec_config(build_vp9_codec_config(vp9_config_from_keyframe(h.value())).view())) abort();
  }
  return 0;
}
