// WatermarkPosition: where a watermark (image or text) sits on the picture:
// a corner (or the centre) plus an offset in pixels or in percent of the
// frame's side, written as "top-right", "bottom-left+20+20",
// "top-right+2%+3%", "center-10+0". Offsets point into the frame from the
// corner (+ in, - out); for "center" + is right / down.
//
// Grammar (hand-written parser, fuzzed by tests/fuzz/watermark_position.cpp):
//   position := corner [ offset offset ]
//   corner   := top-left | top-right | bottom-left | bottom-right | center
//   offset   := ("+" | "-") digits [ "." digits ] [ "%" ]   (at most 5 integer and 3 fraction digits)
// Pixels at most kMaxPixels, percent at most 100. Nothing else (no spaces).
//
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace weir::core {

struct WatermarkPosition {
  static constexpr double kMaxPixels = 16384;
  enum class Corner { kTopLeft, kTopRight, kBottomLeft, kBottomRight, kCenter };
  struct Offset {
    double value = 0;  // signed: + into the frame
    bool percent = false;
  };
  Corner corner = Corner::kTopRight;
  Offset x, y;

  // The canonical text ("top-right+20+2%"), which parses back to the same.
  std::string to_string() const;
  // libavfilter expressions for the item's left and top edges, given the
  // names the filter uses for the frame's and the item's sizes (overlay:
  // "W","H","w","h"; drawtext: "w","h","tw","th").
  std::string x_expr(std::string_view frame_w, std::string_view item_w) const;
  std::string y_expr(std::string_view frame_h, std::string_view item_h) const;
};

// The position written in `text`, or why not (a message for "position: ...").
Result<WatermarkPosition> parse_watermark_position(std::string_view text);

}  // namespace weir::core
