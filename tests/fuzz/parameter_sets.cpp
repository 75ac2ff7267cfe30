// Fuzz target: H.264/HEVC parameter sets between Annex B and avcC/hvcC. A
// canonical record is a fixed point: to Annex B and back gives the same bytes.
#include <cstdint>
#include <cstdlib>

#include "protocol/parameter_sets.h"

using namespace weir;
using namespace weir::protocol;

namespace {

bool same(core::ByteView a, core::ByteView b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  (void)has_start_code_prefix(in);
  if (auto r = avc_config_from_extradata(in); r.is_ok()) {
    auto record_again = avc_config_from_extradata(r->view());
    if (!record_again || !same(record_again->view(), r->view())) abort();
    if (auto annexb = avc_config_to_annexb(r->view()); annexb.is_ok()) {
      auto again = avc_config_from_extradata(annexb->view());
      if (!again) abort();
      // From Annex B the NAL length size is 4: the same record when r had 4.
      if ((r->view()[4] & 0x03) == 3 && !same(again->view(), r->view())) abort();
    }
  }
  if (auto r = hevc_config_from_extradata(in); r.is_ok()) {
    auto record_again = hevc_config_from_extradata(r->view());
    if (!record_again || !same(record_again->view(), r->view())) abort();
    if (auto annexb = hevc_config_to_annexb(r->view()); annexb.is_ok()) {
      auto again = hevc_config_from_extradata(annexb->view());
      if (!again) abort();
      if ((r->view()[21] & 0x03) == 3 && !same(again->view(), r->view())) abort();
    }
  }
  return 0;
}
