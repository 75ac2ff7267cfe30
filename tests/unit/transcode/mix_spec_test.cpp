// MixSpec parsing (the body of POST/PATCH /api/v1/mixes) and the layout's
// pixel placements: every refusal names its field.
#include <catch2/catch.hpp>

#include "transcode/mix_spec.h"

using namespace weir::transcode;
using Json = nlohmann::json;

namespace {

Json four_inputs() {
  return Json::parse(R"({"app": "live", "name": "prog", "width": 320, "height": 180, "fps": 25,
    "inputs": [{"stream": "live/a"}, {"stream": "live/b", "gain": 0.5}, {"stream": "live/c", "mute": true},
               {"stream": "other/d"}]})");
}

std::string field_of(const Json& body) {
  MixSpec s;
  auto e = parse_mix_create(body, s);
  return e ? e->field : std::string("<accepted>");
}

}  // namespace

TEST_CASE("a create body fills the spec and defaults") {
  MixSpec s;
  REQUIRE_FALSE(parse_mix_create(four_inputs(), s));
  CHECK(s.key() == "live/prog");
  CHECK(s.width == 320);
  CHECK(s.height == 180);
  CHECK(s.fps == 25);
  CHECK(s.layout_template == "grid");
  REQUIRE(s.inputs.size() == 4);
  CHECK(s.inputs[1].gain == 0.5);
  CHECK(s.inputs[2].mute);
  CHECK(s.inputs[3].key() == "other/d");
  CHECK(s.video.codec == "libx264");
  CHECK(s.video.gop_frames == 50);
  CHECK(s.audio_bitrate_kbps == 128);
  const Json j = mix_spec_json(s);
  CHECK(j["layout"] == "grid");
  CHECK(j["background"] == "#000000");
  CHECK(j["inputs"][1]["stream"] == "live/b");
}

TEST_CASE("refusals name the field") {
  Json b = four_inputs();
  b["surprise"] = 1;
  CHECK(field_of(b) == "surprise");
  b = four_inputs();
  b.erase("app");
  CHECK(field_of(b) == "app");
  b = four_inputs();
  b["width"] = 321;
  CHECK(field_of(b) == "width");
  b = four_inputs();
  b["fps"] = 30.5;
  CHECK(field_of(b) == "fps");
  b = four_inputs();
  b["fps"] = 0;
  CHECK(field_of(b) == "fps");
  b = four_inputs();
  b["background"] = "#12345g";
  CHECK(field_of(b) == "background");
  b = four_inputs();
  b["inputs"][2]["gain"] = 11;
  CHECK(field_of(b) == "inputs[2].gain");
  b = four_inputs();
  b["inputs"][1]["stream"] = "noslash";
  CHECK(field_of(b) == "inputs[1].stream");
  b = four_inputs();
  b["inputs"][1]["stream"] = "live/../x";
  CHECK(field_of(b) == "inputs[1].stream");
  b = four_inputs();
  b["inputs"][3]["stream"] = "live/a";
  CHECK(field_of(b) == "inputs[3].stream");  // twice
  b = four_inputs();
  b["inputs"][0]["stream"] = "live/prog";
  CHECK(field_of(b) == "inputs[0].stream");  // the program itself
  b = four_inputs();
  b["inputs"][0]["volume"] = 1;
  CHECK(field_of(b) == "inputs[0].volume");
  b = four_inputs();
  b["inputs"] = Json::array();
  CHECK(field_of(b) == "inputs");
  b = four_inputs();
  for (int i = 0; i < 13; ++i) b["inputs"].push_back({{"stream", "live/x" + std::to_string(i)}});
  CHECK(field_of(b) == "inputs");  // 17
  b["inputs"].erase(16);
  CHECK(field_of(b) == "<accepted>");  // 16
  b = four_inputs();
  b["layout"] = "mosaic";
  CHECK(field_of(b) == "layout");
  b = four_inputs();
  b["video"] = {{"preset", "warp"}};
  CHECK(field_of(b) == "video.preset");
  b = four_inputs();
  b["audio"] = {{"bitrate_kbps", 8}};
  CHECK(field_of(b) == "audio.bitrate_kbps");
  CHECK(field_of(Json::array()) == "");
}

TEST_CASE("rectangles: inside the canvas, one per input, overlaps only with distinct z") {
  Json b = four_inputs();
  b["layout"] = Json::parse(R"({"rects": [{"input": 0, "x": 0, "y": 0, "w": 60, "h": 60, "z": 1},
                                          {"input": 1, "x": 50, "y": 50, "w": 50, "h": 50, "z": 2}]})");
  MixSpec s;
  REQUIRE_FALSE(parse_mix_create(b, s));
  CHECK(s.layout_template.empty());
  REQUIRE(s.rects.size() == 2);

  Json same_z = b;
  same_z["layout"]["rects"][1]["z"] = 1;
  CHECK(field_of(same_z) == "layout.rects[1].z");
  Json touching = b;  // edges that touch do not overlap
  touching["layout"]["rects"][1] = {{"input", 1}, {"x", 60}, {"y", 0}, {"w", 40}, {"h", 60}, {"z", 1}};
  CHECK(field_of(touching) == "<accepted>");
  Json wide = b;
  wide["layout"]["rects"][1]["w"] = 50.5;
  CHECK(field_of(wide) == "layout.rects[1].w");
  Json tall = b;
  tall["layout"]["rects"][0]["y"] = 41;
  CHECK(field_of(tall) == "layout.rects[0].h");
  Json neg = b;
  neg["layout"]["rects"][0]["x"] = -1;
  CHECK(field_of(neg) == "layout.rects[0].x");
  Json nan_like = b;
  nan_like["layout"]["rects"][0]["x"] = "10%";
  CHECK(field_of(nan_like) == "layout.rects[0].x");
  Json tiny = b;
  tiny["layout"]["rects"][0]["w"] = 0.1;  // 0.32 px of 320
  CHECK(field_of(tiny) == "layout.rects[0].w");
  Json bad_input = b;
  bad_input["layout"]["rects"][1]["input"] = 4;
  CHECK(field_of(bad_input) == "layout.rects[1].input");
  Json dup = b;
  dup["layout"]["rects"][1]["input"] = 0;
  CHECK(field_of(dup) == "layout.rects[1].input");
  Json missing = b;
  missing["layout"]["rects"][1].erase("h");
  CHECK(field_of(missing) == "layout.rects[1].h");
  Json extra = b;
  extra["layout"]["rects"][1]["alpha"] = 1;
  CHECK(field_of(extra) == "layout.rects[1].alpha");
  Json big_z = b;
  big_z["layout"]["rects"][1]["z"] = 1001;
  CHECK(field_of(big_z) == "layout.rects[1].z");

  // Drawing order is by z; pixels are even and inside the canvas.
  auto p = mix_placements(s);
  REQUIRE(p.size() == 2);
  CHECK(p[0].input == 0);
  CHECK(p[0].x == 0);
  CHECK(p[0].w == 192);
  CHECK(p[0].h == 108);
  CHECK(p[1].input == 1);
  CHECK(p[1].x == 160);
  CHECK(p[1].y == 90);
  CHECK(p[1].w == 160);
  CHECK(p[1].h == 90);
}

TEST_CASE("templates place every input inside the canvas") {
  MixSpec s;
  REQUIRE_FALSE(parse_mix_create(four_inputs(), s));
  auto grid = mix_placements(s);
  REQUIRE(grid.size() == 4);
  CHECK((grid[0].x == 0 && grid[0].y == 0 && grid[0].w == 160 && grid[0].h == 90));
  CHECK((grid[1].x == 160 && grid[1].y == 0));
  CHECK((grid[2].x == 0 && grid[2].y == 90));
  CHECK((grid[3].x == 160 && grid[3].y == 90 && grid[3].w == 160 && grid[3].h == 90));

  s.layout_template = "side-by-side";
  auto sbs = mix_placements(s);
  REQUIRE(sbs.size() == 4);
  CHECK((sbs[3].x == 240 && sbs[3].w == 80 && sbs[3].h == 180));

  for (size_t n = 1; n <= MixSpec::kMaxInputs; ++n) {
    s.inputs.resize(n);
    for (const char* t : {"grid", "pip", "side-by-side"}) {
      s.layout_template = t;
      auto pl = mix_placements(s);
      REQUIRE(pl.size() == n);
      for (size_t i = 1; i < pl.size(); ++i) CHECK(pl[i - 1].z <= pl[i].z);
      for (const auto& q : pl) {
        CHECK(q.x >= 0);
        CHECK(q.y >= 0);
        CHECK(q.w >= 2);
        CHECK(q.h >= 2);
        CHECK(q.x + q.w <= s.width);
        CHECK(q.y + q.h <= s.height);
      }
    }
  }
  s.inputs.resize(3);
  s.layout_template = "pip";
  auto pip = mix_placements(s);
  CHECK((pip[0].input == 0 && pip[0].w == 320 && pip[0].h == 180));
  CHECK(pip[1].x > pip[2].x);  // tiles from the right
}

TEST_CASE("a patch changes layout, inputs and gains, and nothing fixed") {
  MixSpec cur;
  REQUIRE_FALSE(parse_mix_create(four_inputs(), cur));
  MixSpec next;
  auto e = parse_mix_patch(Json::parse(R"({"width": 640})"), cur, next);
  REQUIRE(e);
  CHECK(e->field == "width");
  e = parse_mix_patch(Json::parse(R"({"lyout": "pip"})"), cur, next);
  REQUIRE(e);
  CHECK(e->field == "lyout");
  REQUIRE_FALSE(parse_mix_patch(Json::parse(R"({"layout": "pip", "background": "#FF8000"})"), cur, next));
  CHECK(next.layout_template == "pip");
  CHECK(next.background == 0xff8000);
  CHECK(next.inputs.size() == 4);
  // Rects that name an input the new list no longer has.
  REQUIRE_FALSE(parse_mix_patch(
      Json::parse(R"({"layout": {"rects": [{"input": 3, "x": 0, "y": 0, "w": 50, "h": 50}]}})"), cur, next));
  MixSpec with_rects = next;
  e = parse_mix_patch(Json::parse(R"({"inputs": [{"stream": "live/a"}]})"), with_rects, next);
  REQUIRE(e);
  CHECK(e->field == "layout.rects[0].input");
  REQUIRE_FALSE(parse_mix_patch(Json::parse(R"({"inputs": [{"stream": "live/a", "gain": 2}], "layout": "grid"})"),
                                with_rects, next));
  CHECK(next.inputs.size() == 1);
  CHECK(next.inputs[0].gain == 2);
}

TEST_CASE("background: a colour or {color, image}; a PATCH replaces it whole") {
  Json b = four_inputs();
  b["background"] = Json::parse(R"({"color": "#102030", "image": "/media/bg.png"})");
  MixSpec s;
  REQUIRE_FALSE(parse_mix_create(b, s));
  CHECK(s.background == 0x102030);
  CHECK(s.background_image == "/media/bg.png");
  CHECK(mix_background_image(b) == std::optional<std::string>("/media/bg.png"));
  const Json j = mix_spec_json(s);
  CHECK(j["background"] == Json::parse(R"({"color": "#102030", "image": "/media/bg.png"})"));
  MixSpec back;
  Json again = four_inputs();
  again["background"] = j["background"];
  REQUIRE_FALSE(parse_mix_create(again, back));
  CHECK(back.background_image == s.background_image);

  b["background"] = Json::parse(R"({"image": "/media/bg.png"})");  // colour: black under it
  REQUIRE_FALSE(parse_mix_create(b, s));
  CHECK(s.background == 0);

  MixSpec next;
  REQUIRE_FALSE(parse_mix_patch(Json::parse(R"({"background": "#00ff00"})"), s, next));
  CHECK(next.background == 0x00ff00);
  CHECK(next.background_image.empty());
  CHECK(mix_spec_json(next)["background"] == "#00ff00");
  CHECK_FALSE(mix_background_image(Json::parse(R"({"background": "#00ff00"})")));

  for (const char* bad : {R"({"image": "rel.png"})", R"({"image": 3})", R"({"image": ""})"}) {
    b["background"] = Json::parse(bad);
    CHECK(field_of(b) == "background.image");
  }
  b["background"] = Json::parse(R"({"color": "red"})");
  CHECK(field_of(b) == "background.color");
  b["background"] = Json::parse(R"({"colour": "#000000"})");
  CHECK(field_of(b) == "background.colour");
  b["background"] = 7;
  CHECK(field_of(b) == "background");
}
