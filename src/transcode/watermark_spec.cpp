#include "transcode/watermark_spec.h"

extern "C" {
#include <libavutil/parseutils.h>
}

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace weir::transcode {

namespace {
using core::Status;
using nlohmann::json;

core::WatermarkPosition position_or_default(const std::string& text) {
  auto p = core::parse_watermark_position(text);
  return p ? *p : core::WatermarkPosition{};
}

// Reads one object's fields with a field path for errors ("text.font").
class Fields {
 public:
  Fields(const json& obj, std::string prefix, std::string& field) : obj_(obj), prefix_(std::move(prefix)), field_(field) {}

  Status only(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [k, v] : obj_.items())
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) return fail(k, "unknown field");
    return Status::ok();
  }
  Status string(const char* key, std::string& out, bool required, size_t max) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return required ? fail(key, "is required (a string)") : Status::ok();
    if (!it->is_string()) return fail(key, "must be a string");
    out = it->get<std::string>();
    if (required && out.empty()) return fail(key, "must not be empty");
    if (out.size() > max) return fail(key, fmt::format("must be at most {} bytes", max));
    if (out.find('\0') != std::string::npos) return fail(key, "must not hold NUL");
    return Status::ok();
  }
  Status integer(const char* key, int& out, int min, int max) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return Status::ok();
    if (!it->is_number_integer()) return fail(key, fmt::format("must be an integer from {} to {}", min, max));
    const int64_t v = it->get<int64_t>();
    if (v < min || v > max) return fail(key, fmt::format("must be an integer from {} to {}", min, max));
    out = int(v);
    return Status::ok();
  }
  Status boolean(const char* key, bool& out) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return Status::ok();
    if (!it->is_boolean()) return fail(key, "must be true or false");
    out = it->get<bool>();
    return Status::ok();
  }
  Status position(const char* key, core::WatermarkPosition& out) const {
    std::string text;
    if (auto st = string(key, text, false, 64); !st) return st;
    if (obj_.find(key) == obj_.end()) return Status::ok();
    auto p = core::parse_watermark_position(text);
    if (!p) return fail(key, p.error());
    out = *p;
    return Status::ok();
  }
  Status color(const char* key, std::string& out) const {
    if (auto st = string(key, out, false, 64); !st) return st;
    uint8_t rgba[4];
    if (av_parse_color(rgba, out.c_str(), -1, nullptr) < 0)
      return fail(key, fmt::format("'{}' is not a colour (a name, #RRGGBB[AA], optionally @ALPHA)", out));
    return Status::ok();
  }
  Status fail(std::string_view key, std::string_view why) const {
    field_ = prefix_ + "." + std::string(key);
    return Status::errorf("{}: {}", field_, why);
  }

 private:
  const json& obj_;
  std::string prefix_;
  std::string& field_;
};
}  // namespace

WatermarkSpec watermark_from_config(const core::WatermarkConfig& cfg) {
  WatermarkSpec s;
  if (!cfg.image.file.empty())
    s.image = WatermarkImage{cfg.image.file, position_or_default(cfg.image.position), int(cfg.image.width_percent),
                             int(cfg.image.opacity)};
  if (!cfg.text.text.empty()) {
    const auto& t = cfg.text;
    s.text = WatermarkText{t.text,  t.strftime, t.font,      int(t.font_size),
                           int(t.size_percent), t.color, t.box, t.box_color,
                           position_or_default(t.position), int(t.opacity)};
  }
  return s;
}

core::Result<WatermarkSpec> watermark_from_json(const json& body, std::string& field) {
  WatermarkSpec s;
  for (const auto& [k, v] : body.items())
    if (k != "image" && k != "text") {
      field = k;
      return Status::errorf("unknown field '{}'", k);
    }
  if (auto it = body.find("image"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      field = "image";
      return Status::error("image must be an object");
    }
    Fields f(*it, "image", field);
    WatermarkImage img;
    img.position = position_or_default("top-right+2%+2%");
    Status st = f.only({"file", "position", "width_percent", "opacity"});
    if (st) st = f.string("file", img.file, true, 4096);
    if (st && img.file.front() != '/') st = f.fail("file", "must be an absolute path");
    if (st) st = f.position("position", img.position);
    if (st) st = f.integer("width_percent", img.width_percent, 1, 100);
    if (st) st = f.integer("opacity", img.opacity, 0, 100);
    if (!st) return st;
    s.image = std::move(img);
  }
  if (auto it = body.find("text"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      field = "text";
      return Status::error("text must be an object");
    }
    Fields f(*it, "text", field);
    const core::WatermarkTextConfig defaults;
    WatermarkText t;
    t.font = defaults.font;
    t.position = position_or_default(defaults.position);
    Status st = f.only({"text", "strftime", "font", "font_size", "size_percent", "color", "box", "box_color", "position", "opacity"});
    if (st) st = f.string("text", t.text, true, WatermarkText::kMaxText);
    if (st) st = f.boolean("strftime", t.strftime);
    if (st) st = f.string("font", t.font, false, 4096);
    if (st && (t.font.empty() || t.font.front() != '/')) st = f.fail("font", "must be an absolute path");
    if (st) st = f.integer("font_size", t.font_size, 4, 512);
    if (st) st = f.integer("size_percent", t.size_percent, 0, 50);
    if (st) st = f.color("color", t.color);
    if (st) st = f.boolean("box", t.box);
    if (st) st = f.color("box_color", t.box_color);
    if (st) st = f.position("position", t.position);
    if (st) st = f.integer("opacity", t.opacity, 0, 100);
    if (!st) return st;
    s.text = std::move(t);
  }
  if (s.empty()) {
    field = "image";
    return Status::error("image or text is required (DELETE removes the watermark)");
  }
  return s;
}

json watermark_json(const WatermarkSpec& s) {
  json j = {{"image", nullptr}, {"text", nullptr}};
  if (s.image)
    j["image"] = {{"file", s.image->file},
                  {"position", s.image->position.to_string()},
                  {"width_percent", s.image->width_percent},
                  {"opacity", s.image->opacity}};
  if (s.text)
    j["text"] = {{"text", s.text->text},         {"strftime", s.text->strftime},
                 {"font", s.text->font},         {"font_size", s.text->font_size},
                 {"size_percent", s.text->size_percent},
                 {"color", s.text->color},       {"box", s.text->box},
                 {"box_color", s.text->box_color}, {"position", s.text->position.to_string()},
                 {"opacity", s.text->opacity}};
  return j;
}

}  // namespace weir::transcode
