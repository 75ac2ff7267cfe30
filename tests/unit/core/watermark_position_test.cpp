#include <catch2/catch.hpp>

#include <utility>

#include "core/watermark_position.h"

using weir::core::parse_watermark_position;
using weir::core::WatermarkPosition;
using Corner = WatermarkPosition::Corner;

TEST_CASE("watermark position: corners without offsets") {
  for (auto [text, corner] : {std::pair{"top-left", Corner::kTopLeft}, {"top-right", Corner::kTopRight},
                              {"bottom-left", Corner::kBottomLeft}, {"bottom-right", Corner::kBottomRight},
                              {"center", Corner::kCenter}}) {
    auto p = parse_watermark_position(text);
    REQUIRE(p);
    CHECK(p->corner == corner);
    CHECK(p->x.value == 0);
    CHECK(p->y.value == 0);
    CHECK(p->to_string() == text);
  }
}

TEST_CASE("watermark position: pixel and percent offsets") {
  auto p = parse_watermark_position("bottom-left+20+30");
  REQUIRE(p);
  CHECK(p->corner == Corner::kBottomLeft);
  CHECK(p->x.value == 20);
  CHECK_FALSE(p->x.percent);
  CHECK(p->y.value == 30);
  CHECK(p->x_expr("W", "w") == "(20)");
  CHECK(p->y_expr("H", "h") == "H-h-(30)");

  p = parse_watermark_position("top-right+2%+3.5%");
  REQUIRE(p);
  CHECK(p->x.percent);
  CHECK(p->y.percent);
  CHECK(p->y.value == 3.5);
  CHECK(p->x_expr("W", "w") == "W-w-(W*2/100)");
  CHECK(p->y_expr("H", "h") == "(H*3.5/100)");
  CHECK(p->to_string() == "top-right+2%+3.5%");

  p = parse_watermark_position("center-10+5%");
  REQUIRE(p);
  CHECK(p->x.value == -10);
  CHECK(p->x_expr("w", "tw") == "(w-tw)/2+(-10)");
  CHECK(p->to_string() == "center-10+5%");
  auto back = parse_watermark_position(p->to_string());
  REQUIRE(back);
  CHECK(back->x.value == p->x.value);
  CHECK(back->y.percent);
}

TEST_CASE("watermark position: bad text is refused with a reason") {
  for (const char* bad : {"", "top", "TOP-RIGHT", "upper-right", "top-right+", "top-right+20", "top-right+20+",
                          "top-right 20 20", "top-right+20+20+20", "top-right+20+101%", "top-right+20000+0",
                          "top-right+1.+2", "top-right+1.2345+0", "top-right+123456+0", "top-right++1+2",
                          "top-right+20+20px", "top-right*2+3"}) {
    INFO(bad);
    auto p = parse_watermark_position(bad);
    REQUIRE_FALSE(p);
    CHECK_FALSE(p.error().empty());
  }
}
