// Fuzz target: AV1 OBUs, sequence headers and av1C records built from them.
// A record built from OBUs is a fixed point (rebuilt from its own config
// OBUs it is the same), and the two ways of dropping temporal delimiters and
// padding agree.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/av1_obu.h"
#include "protocol/codec_config.h"

using namespace weir;
using namespace weir::protocol;

namespace {

std::vector<uint8_t> vec(core::ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  std::vector<Obu> obus;
  if (split_obus(in, obus)) {
    for (const Obu& o : obus) {
      if (o.offset + o.size > size) abort();
      Av1SequenceHeader h;
      if (o.type == kObuSequenceHeader && parse_av1_sequence_header(o.payload, h)) {
        if (h.max_width == 0 || h.max_height == 0 || (h.bit_depth != 8 && h.bit_depth != 10 && h.bit_depth != 12)) {
          abort();
        }
      }
    }
    core::ByteWriter w;
    if (!append_av1_sample_obus(in, w)) abort();
    if (vec(w.view()) != vec(strip_av1_obus(core::Slice::copy_of(in)).view())) abort();
  }
  if (auto rec = build_av1_codec_config(in); rec.is_ok()) {
    auto c = parse_av1_codec_config(rec->view());
    if (!c) abort();
    auto again = build_av1_codec_config(c->config_obus.view());
    if (!again || vec(again->view()) != vec(rec->view())) abort();
  }
  return 0;
}
