// Fuzz target: watermark position strings (core/watermark_position.h), from
// the config and from the admin API's watermark body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/watermark_position.h"

using namespace weir::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = parse_watermark_position(in);
  if (!p) {
    if (p.error().empty()) __builtin_trap();
    return 0;
  }
  for (const auto* o : {&p->x, &p->y}) {
    if (o->percent && (o->value < -100 || o->value > 100)) __builtin_trap();
    if (!o->percent && (o->value < -WatermarkPosition::kMaxPixels || o->value > WatermarkPosition::kMaxPixels))
      __builtin_trap();
  }
  // What we print parses back to the same position.
  auto again = parse_watermark_position(p->to_string());
  if (!again || again->corner != p->corner || again->x.value != p->x.value || again->y.value != p->y.value ||
      again->x.percent != p->x.percent || again->y.percent != p->y.percent)
    __builtin_trap();
  (void)p->x_expr("W", "w");
  (void)p->y_expr("H", "h");
  return 0;
}
