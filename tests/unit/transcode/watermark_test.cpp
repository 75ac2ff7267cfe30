// Watermark bodies, names and the blocking file check (real files: the
// Debian font, a PNG written by FFmpeg's encoder, a text file).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "transcode/watermark_graph.h"
#include "transcode/watermark_names.h"
#include "transcode/watermark_spec.h"

using namespace weir;
using nlohmann::json;

namespace {
const char* kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

std::string field_of(const json& body) {
  std::string field;
  auto r = transcode::watermark_from_json(body, field);
  REQUIRE_FALSE(r);
  return field;
}
}  // namespace

TEST_CASE("watermark bodies: defaults, round trip, and errors naming the field") {
  std::string field;
  auto r = transcode::watermark_from_json(json::parse(R"({"image": {"file": "/x.png"}, "text": {"text": "hi"}})"), field);
  REQUIRE(r);
  CHECK(r->image->position.to_string() == "top-right+2%+2%");
  CHECK(r->image->width_percent == 15);
  CHECK(r->text->font == kFont);
  json j = transcode::watermark_json(*r);
  auto back = transcode::watermark_from_json(j, field);
  REQUIRE(back);
  CHECK(transcode::watermark_json(*back) == j);

  CHECK(field_of(json::object()) == "image");
  CHECK(field_of(json::parse(R"({"logo": 1})")) == "logo");
  CHECK(field_of(json::parse(R"({"image": 3})")) == "image");
  CHECK(field_of(json::parse(R"({"image": {}})")) == "image.file");
  CHECK(field_of(json::parse(R"({"image": {"file": "rel.png"}})")) == "image.file");
  CHECK(field_of(json::parse(R"({"image": {"file": "/a.png", "position": "top"}})")) == "image.position");
  CHECK(field_of(json::parse(R"({"image": {"file": "/a.png", "width_percent": 0}})")) == "image.width_percent");
  CHECK(field_of(json::parse(R"({"image": {"file": "/a.png", "opacity": 1.5}})")) == "image.opacity");
  CHECK(field_of(json::parse(R"({"image": {"file": "/a.png", "zoom": 1}})")) == "image.zoom");
  CHECK(field_of(json::parse(R"({"text": {"text": ""}})")) == "text.text");
  CHECK(field_of(json::parse(R"({"text": {"text": "a", "color": "nocolour"}})")) == "text.color");
  CHECK(field_of(json::parse(R"({"text": {"text": "a", "box_color": "#12345"}})")) == "text.box_color");
  CHECK(field_of(json::parse(R"({"text": {"text": "a", "font_size": 1000}})")) == "text.font_size");
  CHECK(field_of(json{{"text", {{"text", std::string(300, 'x')}}}}) == "text.text");
}

TEST_CASE("watermark names: output, clean name and serve: replace") {
  core::AppConfig app;
  app.watermark.enabled = true;
  app.renditions["360p"] = core::RenditionConfig{};
  CHECK(transcode::watermark_stream_name(app.watermark, "foo") == "foo_wm");
  CHECK(transcode::watermark_source_of(app.watermark, "foo_wm") == std::optional<std::string>("foo"));
  CHECK_FALSE(transcode::watermark_source_of(app.watermark, "_wm"));
  CHECK(transcode::watermark_play_hub(app, "foo").empty());  // separate: every name is itself
  app.watermark.serve = "replace";
  CHECK(transcode::watermark_play_hub(app, "foo") == "foo_wm");
  CHECK(transcode::watermark_play_hub(app, "foo_clean") == "foo");
  CHECK(transcode::watermark_play_hub(app, "foo_wm").empty());
  CHECK(transcode::watermark_play_hub(app, "foo_360p").empty());
  app.watermark.enabled = false;
  CHECK(transcode::watermark_play_hub(app, "foo").empty());
}

TEST_CASE("watermark files: an image, a font, and what is refused") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("weir_wm_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string png = (dir / "red.png").string(), txt = (dir / "not.png").string();
  REQUIRE(std::system(("ffmpeg -v error -y -f lavfi -i color=c=red:size=32x32 -frames:v 1 -vf format=rgba " + png)
                          .c_str()) == 0);
  std::ofstream(txt) << "hello, not an image\n";
  std::string field;
  transcode::WatermarkSpec s;
  s.image = transcode::WatermarkImage{png, {}, 20, 50};
  CHECK(transcode::check_watermark_files(s, field));
  s.text = transcode::WatermarkText{};
  s.text->text = "%H:%M";
  s.text->strftime = true;
  s.text->font = kFont;
  CHECK(transcode::check_watermark_files(s, field));

  s.image->file = txt;
  CHECK_FALSE(transcode::check_watermark_files(s, field));
  CHECK(field == "image.file");
  s.image->file = (dir / "missing.png").string();
  CHECK_FALSE(transcode::check_watermark_files(s, field));
  CHECK(field == "image.file");
  s.image->file = png;
  s.text->font = png;  // not a font (drawtext would fall back to fontconfig's)
  auto st = transcode::check_watermark_files(s, field);
  CHECK_FALSE(st);
  CHECK(field == "text.font");
  s.text->font = "/nonexistent.ttf";
  CHECK_FALSE(transcode::check_watermark_files(s, field));
  CHECK(field == "text.font");
  fs::remove_all(dir);
}
