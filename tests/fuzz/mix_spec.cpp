// Fuzz target: the mix bodies of POST/PATCH /api/v1/mixes
// (transcode/mix_spec.h), the layout and rectangles above all. Aborts if a
// refusal names no field or has no message, or an accepted spec breaks the
// documented invariants: 1..16 inputs, placements inside the canvas with
// w, h >= 2 and in z order, no two overlapping rectangles with the same z,
// and its JSON form parsing back to the same spec.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transcode/mix_spec.h"

using namespace weir::transcode;

namespace {

void check_spec(const MixSpec& s) {
  if (s.inputs.empty() || s.inputs.size() > MixSpec::kMaxInputs) std::abort();
  if (s.width < 16 || s.height < 16 || s.width % 2 || s.height % 2 || s.fps < 1 || s.fps > 60) std::abort();
  const auto pl = mix_placements(s);
  for (size_t i = 0; i < pl.size(); ++i) {
    const auto& p = pl[i];
    if (p.input >= s.inputs.size()) std::abort();
    if (p.x < 0 || p.y < 0 || p.w < 2 || p.h < 2 || p.x + p.w > s.width || p.y + p.h > s.height) std::abort();
    if (i > 0 && pl[i - 1].z > p.z) std::abort();
  }
  for (size_t i = 0; i < s.rects.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const auto &a = s.rects[i], &b = s.rects[j];
      if (a.z == b.z && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) std::abort();
      if (a.input == b.input) std::abort();
    }
  MixSpec again;
  if (parse_mix_create(mix_spec_json(s), again)) std::abort();
  if (mix_spec_json(again) != mix_spec_json(s)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  MixSpec s;
  if (auto e = parse_mix_create(body, s)) {
    if (e->message.empty() || e->message.rfind(e->field, 0) != 0) std::abort();
  } else {
    check_spec(s);
  }
  // The same body as a PATCH of a fixed running mix.
  static const MixSpec base = [] {
    MixSpec b;
    auto j = nlohmann::json::parse(
        R"({"app":"live","name":"p","width":320,"height":180,"inputs":[{"stream":"live/a"},{"stream":"live/b"}]})");
    if (parse_mix_create(j, b)) std::abort();
    return b;
  }();
  MixSpec next;
  if (auto e = parse_mix_patch(body, base, next)) {
    if (e->message.empty()) std::abort();
  } else {
    check_spec(next);
  }
  return 0;
}
