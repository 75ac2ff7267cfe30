#include "core/watermark_position.h"

#include <fmt/format.h>

#include <cmath>

namespace weir::core {

namespace {
using Corner = WatermarkPosition::Corner;

struct CornerName {
  std::string_view name;
  Corner corner;
};
constexpr CornerName kCorners[] = {{"top-left", Corner::kTopLeft},
                                   {"top-right", Corner::kTopRight},
                                   {"bottom-left", Corner::kBottomLeft},
                                   {"bottom-right", Corner::kBottomRight},
                                   {"center", Corner::kCenter}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One offset at `in[at]`; advances `at`. "" or why not.
std::string parse_offset(std::string_view in, size_t& at, WatermarkPosition::Offset& out) {
  if (at >= in.size()) return "expected a second offset (+N or +N%) after the first";
  const char sign = in[at];
  if (sign != '+' && sign != '-') return fmt::format("expected + or - at '{}'", in.substr(at, 8));
  ++at;
  double v = 0;
  size_t digits = 0;
  while (at < in.size() && is_digit(in[at])) {
    if (++digits > 5) return "an offset has at most 5 digits before the point";
    v = v * 10 + (in[at++] - '0');
  }
  if (digits == 0) return fmt::format("expected a number after '{}'", sign);
  if (at < in.size() && in[at] == '.') {
    ++at;
    double scale = 0.1;
    size_t frac = 0;
    while (at < in.size() && is_digit(in[at])) {
      if (++frac > 3) return "an offset has at most 3 digits after the point";
      v += (in[at++] - '0') * scale;
      scale /= 10;
    }
    if (frac == 0) return "expected digits after the point";
  }
  out.percent = at < in.size() && in[at] == '%';
  if (out.percent) ++at;
  if (out.percent && v > 100) return "a percent offset is at most 100%";
  if (!out.percent && v > WatermarkPosition::kMaxPixels)
    return fmt::format("a pixel offset is at most {}", int(WatermarkPosition::kMaxPixels));
  out.value = sign == '-' ? -v : v;
  return "";
}

std::string number(double v) {
  // Up to 3 decimals, no trailing zeros: what the parser reads back.
  std::string s = fmt::format("{:.3f}", std::fabs(v));
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string offset_text(const WatermarkPosition::Offset& o) {
  return (o.value < 0 ? "-" : "+") + number(o.value) + (o.percent ? "%" : "");
}

// The offset in the frame's pixels, as an expression.
std::string offset_expr(const WatermarkPosition::Offset& o, std::string_view frame_side) {
  if (o.percent) return fmt::format("({}*{}/100)", frame_side, (o.value < 0 ? "-" : "") + number(o.value));
  return "(" + std::string(o.value < 0 ? "-" : "") + number(o.value) + ")";
}

std::string axis_expr(bool from_start, bool centre, const WatermarkPosition::Offset& o, std::string_view frame,
                      std::string_view item) {
  const std::string off = offset_expr(o, frame);
  if (centre) return fmt::format("({}-{})/2+{}", frame, item, off);
  if (from_start) return off;
  return fmt::format("{}-{}-{}", frame, item, off);
}
}  // namespace

Result<WatermarkPosition> parse_watermark_position(std::string_view in) {
  WatermarkPosition p;
  size_t at = 0;
  bool found = false;
  for (const auto& c : kCorners)
    if (in.substr(0, c.name.size()) == c.name) {
      p.corner = c.corner;
      at = c.name.size();
      found = true;
      break;
    }
  if (!found)
    return Status::errorf("'{}' does not start with top-left, top-right, bottom-left, bottom-right or center",
                          in.substr(0, 32));
  if (at == in.size()) return p;
  if (std::string why = parse_offset(in, at, p.x); !why.empty()) return Status::error(why);
  if (std::string why = parse_offset(in, at, p.y); !why.empty()) return Status::error(why);
  if (at != in.size()) return Status::errorf("unexpected '{}' after the offsets", in.substr(at, 16));
  return p;
}

std::string WatermarkPosition::to_string() const {
  std::string s;
  for (const auto& c : kCorners)
    if (c.corner == corner) s = std::string(c.name);
  if (x.value != 0 || y.value != 0 || x.percent || y.percent) s += offset_text(x) + offset_text(y);
  return s;
}

std::string WatermarkPosition::x_expr(std::string_view frame_w, std::string_view item_w) const {
  const bool left = corner == Corner::kTopLeft || corner == Corner::kBottomLeft;
  return axis_expr(left, corner == Corner::kCenter, x, frame_w, item_w);
}

std::string WatermarkPosition::y_expr(std::string_view frame_h, std::string_view item_h) const {
  const bool top = corner == Corner::kTopLeft || corner == Corner::kTopRight;
  return axis_expr(top, corner == Corner::kCenter, y, frame_h, item_h);
}

}  // namespace weir::core
