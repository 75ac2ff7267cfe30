// MixSpec: what a mix (POST /api/v1/mixes) is: the program stream, canvas,
// frame rate, background, inputs with their audio gain, the layout and the
// encoder settings, parsed from the API's JSON body field by field. Every
// refusal names the field ("inputs[2].gain", "layout.rects[1].z") so the API
// answers 400 with it; the parsers are fuzzed (tests/fuzz/mix_spec.cpp).
//
// Layout: a template name ("grid", "pip", "side-by-side") or
// {"rects": [{"input": i, "x": %, "y": %, "w": %, "h": %, "z": n}, ...]}
// in percent of the canvas; an input without a rect is heard, not seen.
// Rectangles stay inside the canvas, are at least 2 pixels on each side,
// name an input once, and two that overlap must have distinct z (higher z
// is drawn on top).
//
// Background: "#rrggbb", or {"color": "#rrggbb", "image": "/abs/path.png"}
// (color defaults to black; the image is drawn over it, see
// mix_background.h). A PATCH's background replaces the whole background
// (a colour string removes the image). Whether the image file is usable and
// allowed (transcode.media_dir) is checked by the API, not here.
//
// Inputs: "app/stream" of a stream that may not be live yet (it shows the
// background and is silent until it is published); whether its app exists
// is for the caller to check (mix_spec knows no config).
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcode/video_encoder.h"

namespace weir::transcode {

struct MixRect {
  size_t input = 0;  // index into MixSpec::inputs
  double x = 0, y = 0, w = 0, h = 0;  // percent of the canvas
  int z = 0;
};

struct MixInputSpec {
  std::string app, stream;
  double gain = 1.0;  // linear, 0..10
  bool mute = false;
  std::string key() const { return app + "/" + stream; }
};

enum class MixInputLoss { kBackground, kLastFrame };

struct MixSpec {
  static constexpr size_t kMaxInputs = 16;
  static constexpr int kMaxZ = 1000;

  std::string app, name;  // the program stream
  int width = 1280, height = 720, fps = 30;
  uint32_t background = 0x000000;  // 0xRRGGBB
  std::string background_image;    // absolute path; "" = the colour alone
  MixInputLoss on_input_loss = MixInputLoss::kBackground;
  std::string layout_template = "grid";  // "" when rects are given
  std::vector<MixRect> rects;            // explicit layout (layout_template empty)
  std::vector<MixInputSpec> inputs;
  VideoEncoderSpec video;                // libx264; preset, bitrate_kbps
  int audio_bitrate_kbps = 128;          // AAC, 48 kHz stereo

  std::string key() const { return app + "/" + name; }
};

struct MixFieldError {
  std::string field;
  std::string message;  // starts with the field's name
};

// POST body into `out` (defaults for what is absent). nullopt when valid.
std::optional<MixFieldError> parse_mix_create(const nlohmann::json& body, MixSpec& out);
// PATCH body (layout, inputs, background, on_input_loss) applied to a copy of
// `current`; the result is validated as a whole (a rect naming an input
// that the new inputs no longer have is refused). nullopt when valid.
std::optional<MixFieldError> parse_mix_patch(const nlohmann::json& body, const MixSpec& current, MixSpec& out);

// The image path of a body's "background": {"image": "/path"} (whether the
// rest of the body is valid or not), for the API's file checks before
// parse_mix_create/patch; nullopt when the body names no image.
std::optional<std::string> mix_background_image(const nlohmann::json& body);

// A rectangle in pixels of the canvas, in drawing order (z ascending).
struct MixPlacement {
  size_t input = 0;
  int x = 0, y = 0, w = 0, h = 0;  // even, inside the canvas, w and h >= 2
  int z = 0;
};
// Where each shown input goes: the template's cells or the explicit rects.
std::vector<MixPlacement> mix_placements(const MixSpec& spec);

// The spec as the API shows it (what was set, defaults filled in).
nlohmann::json mix_spec_json(const MixSpec& spec);

}  // namespace weir::transcode
