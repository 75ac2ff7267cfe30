// WatermarkSpec: what a transcode job draws on the picture: an image and/or a
// text, each at a position (core/watermark_position.h). Made from an app's
// config (apps.<app>.watermark) or from an admin API body, and shown back as
// the API's JSON. Immutable once made; shared between the API, the board and
// the pipelines (shared_ptr<const WatermarkSpec>).
//
// Parsing here checks shapes, ranges, positions and colours (pure, any
// thread); whether the files are a readable image and a loadable font is
// check_watermark_files() in watermark_graph.h (blocking, on a pool).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "core/watermark_position.h"

namespace weir::transcode {

struct WatermarkImage {
  std::string file;
  core::WatermarkPosition position;
  int width_percent = 15;  // of the frame's width, aspect kept
  int opacity = 100;       // percent
};

struct WatermarkText {
  static constexpr size_t kMaxText = 256;
  std::string text;
  bool strftime = false;  // expanded per frame (local time)
  std::string font;
  int font_size = 24;     // pixels
  int size_percent = 0;   // of the frame's height; 0 = font_size
  std::string color = "white";
  bool box = false;
  std::string box_color = "black@0.5";
  core::WatermarkPosition position;
  int opacity = 100;  // percent
};

struct WatermarkSpec {
  std::optional<WatermarkImage> image;
  std::optional<WatermarkText> text;
  bool empty() const { return !image && !text; }
};

// The config's watermark (positions and colours were checked at load; a
// position that does not parse falls back to the default corner).
WatermarkSpec watermark_from_config(const core::WatermarkConfig& cfg);

// An API body {"image": {...}, "text": {...}} (at least one). On error the
// Status says why and `field` names the field ("image.position", "text").
core::Result<WatermarkSpec> watermark_from_json(const nlohmann::json& body, std::string& field);

// {"image": {...} or null, "text": {...} or null}, the same field names.
nlohmann::json watermark_json(const WatermarkSpec& spec);

}  // namespace weir::transcode
