#include "transcode/mix_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <string_view>

namespace weir::transcode {

namespace {

using Json = nlohmann::json;
using Err = std::optional<MixFieldError>;

Err fail(std::string field, std::string_view why) {
  MixFieldError e;
  e.message = field + ": " + std::string(why);
  e.field = std::move(field);
  return e;
}

// Stream and app names: 1..128 of [A-Za-z0-9._~-], not "." or "..".
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' || c == '-')) return false;
  return true;
}

Err only_keys(const Json& obj, const std::string& prefix, std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), std::string_view(it.key())) == allowed.end())
      return fail(prefix + it.key(), "unknown field");
  return std::nullopt;
}

Err get_int(const Json& obj, const char* key, const std::string& field, int64_t lo, int64_t hi, int& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_number_integer() && !it->is_number_unsigned())
    return fail(field, fmt::format("must be an integer from {} to {}", lo, hi));
  const bool neg = it->is_number_integer() && it->get<int64_t>() < 0;
  if (!neg && it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))
    return fail(field, fmt::format("must be an integer from {} to {}", lo, hi));
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return fail(field, fmt::format("must be an integer from {} to {}", lo, hi));
  out = int(v);
  return std::nullopt;
}

Err get_number(const Json& obj, const char* key, const std::string& field, double lo, double hi, double& out,
               bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? fail(field, "is required") : std::nullopt;
  if (!it->is_number()) return fail(field, fmt::format("must be a number from {} to {}", lo, hi));
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) return fail(field, fmt::format("must be a number from {} to {}", lo, hi));
  out = v;
  return std::nullopt;
}

Err parse_stream(const Json& v, const std::string& field, std::string& app, std::string& stream) {
  if (!v.is_string()) return fail(field, "must be a string \"app/stream\"");
  const std::string& s = v.get_ref<const std::string&>();
  const size_t slash = s.find('/');
  if (slash == std::string::npos || !valid_name(std::string_view(s).substr(0, slash)) ||
      !valid_name(std::string_view(s).substr(slash + 1)))
    return fail(field, "must be \"app/stream\" (letters, digits, '.', '_', '~', '-')");
  app = s.substr(0, slash);
  stream = s.substr(slash + 1);
  return std::nullopt;
}

Err parse_colour(const Json& v, const std::string& field, uint32_t& out) {
  if (!v.is_string()) return fail(field, "must be a colour \"#rrggbb\"");
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() != 7 || s[0] != '#') return fail(field, "must be a colour \"#rrggbb\"");
  uint32_t c = 0;
  for (size_t i = 1; i < 7; ++i) {
    const char ch = s[i];
    int d = -1;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    if (d < 0) return fail(field, "must be a colour \"#rrggbb\"");
    c = c << 4 | uint32_t(d);
  }
  out = c;
  return std::nullopt;
}

Err parse_background(const Json& body, MixSpec& out) {
  auto it = body.find("background");
  if (it == body.end()) return std::nullopt;
  uint32_t colour = 0;
  if (!it->is_object()) {
    if (!it->is_string())
      return fail("background", "must be a colour \"#rrggbb\" or {\"color\": \"#rrggbb\", \"image\": \"/path\"}");
    if (auto e = parse_colour(*it, "background", colour)) return e;
    out.background = colour;
    out.background_image.clear();
    return std::nullopt;
  }
  if (auto e = only_keys(*it, "background.", {"color", "image"})) return e;
  if (auto c = it->find("color"); c != it->end())
    if (auto e = parse_colour(*c, "background.color", colour)) return e;
  std::string image;
  if (auto im = it->find("image"); im != it->end()) {
    if (!im->is_string()) return fail("background.image", "must be an absolute path to an image file");
    image = im->get<std::string>();
    if (image.empty() || image.front() != '/' || image.size() > 4096 || image.find('\0') != std::string::npos)
      return fail("background.image", "must be an absolute path to an image file");
  }
  out.background = colour;
  out.background_image = std::move(image);
  return std::nullopt;
}

Err parse_loss(const Json& body, MixSpec& out) {
  auto it = body.find("on_input_loss");
  if (it == body.end()) return std::nullopt;
  if (*it == "background") out.on_input_loss = MixInputLoss::kBackground;
  else if (*it == "last_frame") out.on_input_loss = MixInputLoss::kLastFrame;
  else return fail("on_input_loss", "must be \"background\" or \"last_frame\"");
  return std::nullopt;
}

Err parse_inputs(const Json& body, MixSpec& out, bool required) {
  auto it = body.find("inputs");
  if (it == body.end()) return required ? fail("inputs", "is required (1 to 16 streams)") : std::nullopt;
  if (!it->is_array() || it->empty()) return fail("inputs", "must be an array of 1 to 16 inputs");
  if (it->size() > MixSpec::kMaxInputs) return fail("inputs", fmt::format("at most {} inputs", MixSpec::kMaxInputs));
  std::vector<MixInputSpec> inputs;
  std::set<std::string> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& in = (*it)[i];
    const std::string p = fmt::format("inputs[{}]", i);
    if (!in.is_object()) return fail(p, "must be an object {\"stream\": \"app/stream\", ...}");
    if (auto e = only_keys(in, p + ".", {"stream", "gain", "mute"})) return e;
    MixInputSpec s;
    auto st = in.find("stream");
    if (st == in.end()) return fail(p + ".stream", "is required");
    if (auto e = parse_stream(*st, p + ".stream", s.app, s.stream)) return e;
    if (!seen.insert(s.key()).second) return fail(p + ".stream", "is listed twice");
    if (auto e = get_number(in, "gain", p + ".gain", 0, 10, s.gain, false)) return e;
    if (auto m = in.find("mute"); m != in.end()) {
      if (!m->is_boolean()) return fail(p + ".mute", "must be true or false");
      s.mute = m->get<bool>();
    }
    inputs.push_back(std::move(s));
  }
  out.inputs = std::move(inputs);
  return std::nullopt;
}

Err parse_layout(const Json& body, MixSpec& out) {
  auto it = body.find("layout");
  if (it == body.end()) return std::nullopt;
  if (it->is_string()) {
    const std::string& t = it->get_ref<const std::string&>();
    if (t != "grid" && t != "pip" && t != "side-by-side")
      return fail("layout", "must be \"grid\", \"pip\", \"side-by-side\" or {\"rects\": [...]}");
    out.layout_template = t;
    out.rects.clear();
    return std::nullopt;
  }
  if (!it->is_object()) return fail("layout", "must be \"grid\", \"pip\", \"side-by-side\" or {\"rects\": [...]}");
  if (auto e = only_keys(*it, "layout.", {"rects"})) return e;
  auto rs = it->find("rects");
  if (rs == it->end()) return fail("layout.rects", "is required");
  if (!rs->is_array() || rs->size() > MixSpec::kMaxInputs)
    return fail("layout.rects", fmt::format("must be an array of at most {} rectangles", MixSpec::kMaxInputs));
  std::vector<MixRect> rects;
  for (size_t i = 0; i < rs->size(); ++i) {
    const Json& r = (*rs)[i];
    const std::string p = fmt::format("layout.rects[{}]", i);
    if (!r.is_object()) return fail(p, "must be an object {\"input\", \"x\", \"y\", \"w\", \"h\", \"z\"}");
    if (auto e = only_keys(r, p + ".", {"input", "x", "y", "w", "h", "z"})) return e;
    MixRect m;
    int input = -1;
    if (r.find("input") == r.end()) return fail(p + ".input", "is required");
    if (auto e = get_int(r, "input", p + ".input", 0, MixSpec::kMaxInputs - 1, input)) return e;
    m.input = size_t(input);
    if (auto e = get_number(r, "x", p + ".x", 0, 100, m.x, true)) return e;
    if (auto e = get_number(r, "y", p + ".y", 0, 100, m.y, true)) return e;
    if (auto e = get_number(r, "w", p + ".w", 0, 100, m.w, true)) return e;
    if (auto e = get_number(r, "h", p + ".h", 0, 100, m.h, true)) return e;
    if (auto e = get_int(r, "z", p + ".z", 0, MixSpec::kMaxZ, m.z)) return e;
    rects.push_back(m);
  }
  out.layout_template.clear();
  out.rects = std::move(rects);
  return std::nullopt;
}

Err parse_video(const Json& body, MixSpec& out) {
  auto it = body.find("video");
  if (it == body.end()) return std::nullopt;
  if (!it->is_object()) return fail("video", "must be an object {\"preset\", \"bitrate_kbps\"}");
  if (auto e = only_keys(*it, "video.", {"codec", "preset", "bitrate_kbps"})) return e;
  if (auto c = it->find("codec"); c != it->end() && *c != "libx264") return fail("video.codec", "must be \"libx264\"");
  if (auto p = it->find("preset"); p != it->end()) {
    static const char* kPresets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                     "medium",    "slow",      "slower",   "veryslow"};
    if (!p->is_string() || std::none_of(std::begin(kPresets), std::end(kPresets), [&](const char* k) { return *p == k; }))
      return fail("video.preset", "must be an x264 preset (ultrafast .. veryslow)");
    out.video.preset = p->get<std::string>();
  }
  int kbps = int(out.video.bitrate_kbps);
  if (auto e = get_int(*it, "bitrate_kbps", "video.bitrate_kbps", 50, 50000, kbps)) return e;
  out.video.bitrate_kbps = kbps;
  return std::nullopt;
}

Err parse_audio(const Json& body, MixSpec& out) {
  auto it = body.find("audio");
  if (it == body.end()) return std::nullopt;
  if (!it->is_object()) return fail("audio", "must be an object {\"bitrate_kbps\"}");
  if (auto e = only_keys(*it, "audio.", {"codec", "bitrate_kbps"})) return e;
  if (auto c = it->find("codec"); c != it->end() && *c != "aac") return fail("audio.codec", "must be \"aac\"");
  return get_int(*it, "bitrate_kbps", "audio.bitrate_kbps", 16, 512, out.audio_bitrate_kbps);
}

bool overlap(const MixRect& a, const MixRect& b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

// The checks that need the whole spec: rects against the inputs, the canvas
// and each other; the program not among its inputs.
Err check_whole(const MixSpec& s) {
  for (size_t i = 0; i < s.inputs.size(); ++i)
    if (s.inputs[i].app == s.app && s.inputs[i].stream == s.name)
      return fail(fmt::format("inputs[{}].stream", i), "is the program itself");
  std::set<size_t> used;
  constexpr double kEps = 1e-9;
  for (size_t i = 0; i < s.rects.size(); ++i) {
    const MixRect& r = s.rects[i];
    const std::string p = fmt::format("layout.rects[{}]", i);
    if (r.input >= s.inputs.size())
      return fail(p + ".input", fmt::format("names input {} of {}", r.input, s.inputs.size()));
    if (!used.insert(r.input).second) return fail(p + ".input", "has a rectangle already");
    if (r.x + r.w > 100 + kEps) return fail(p + ".w", "x + w goes past the canvas (100%)");
    if (r.y + r.h > 100 + kEps) return fail(p + ".h", "y + h goes past the canvas (100%)");
    if (r.w * s.width / 100 < 2) return fail(p + ".w", "is under 2 pixels of the canvas");
    if (r.h * s.height / 100 < 2) return fail(p + ".h", "is under 2 pixels of the canvas");
    for (size_t j = 0; j < i; ++j)
      if (s.rects[j].z == r.z && overlap(s.rects[j], r))
        return fail(p + ".z", fmt::format("overlaps layout.rects[{}] with the same z", j));
  }
  return std::nullopt;
}

int even_px(double percent, int side) {
  const int v = int(std::lround(percent * side / 100.0)) & ~1;
  return std::clamp(v, 0, side);
}

}  // namespace

std::optional<MixFieldError> parse_mix_create(const Json& body, MixSpec& out) {
  if (!body.is_object()) return fail("", "the body must be a JSON object");
  if (auto e = only_keys(body, "", {"app", "name", "width", "height", "fps", "background", "on_input_loss", "layout",
                                    "inputs", "video", "audio"}))
    return e;
  for (const char* k : {"app", "name"}) {
    auto it = body.find(k);
    if (it == body.end()) return fail(k, "is required");
    if (!it->is_string() || !valid_name(it->get_ref<const std::string&>()))
      return fail(k, "must be a name of letters, digits, '.', '_', '~', '-' (1 to 128)");
  }
  MixSpec s;
  s.app = body["app"].get<std::string>();
  s.name = body["name"].get<std::string>();
  s.video.preset = "veryfast";
  s.video.bitrate_kbps = 2000;
  if (auto e = get_int(body, "width", "width", 16, 3840, s.width)) return e;
  if (auto e = get_int(body, "height", "height", 16, 2160, s.height)) return e;
  if (s.width % 2) return fail("width", "must be even");
  if (s.height % 2) return fail("height", "must be even");
  if (auto e = get_int(body, "fps", "fps", 1, 60, s.fps)) return e;
  if (auto e = parse_background(body, s)) return e;
  if (auto e = parse_loss(body, s)) return e;
  if (auto e = parse_inputs(body, s, true)) return e;
  if (auto e = parse_layout(body, s)) return e;
  if (auto e = parse_video(body, s)) return e;
  if (auto e = parse_audio(body, s)) return e;
  if (auto e = check_whole(s)) return e;
  s.video.codec = "libx264";
  s.video.gop_frames = s.fps * 2;
  out = std::move(s);
  return std::nullopt;
}

std::optional<MixFieldError> parse_mix_patch(const Json& body, const MixSpec& current, MixSpec& out) {
  if (!body.is_object()) return fail("", "the body must be a JSON object");
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "app" || k == "name" || k == "width" || k == "height" || k == "fps" || k == "video" || k == "audio")
      return fail(k, "cannot change on a running mix (delete it and create another)");
  }
  if (auto e = only_keys(body, "", {"layout", "inputs", "background", "on_input_loss"})) return e;
  MixSpec s = current;
  if (auto e = parse_background(body, s)) return e;
  if (auto e = parse_loss(body, s)) return e;
  if (auto e = parse_inputs(body, s, false)) return e;
  if (auto e = parse_layout(body, s)) return e;
  if (auto e = check_whole(s)) return e;
  out = std::move(s);
  return std::nullopt;
}

std::optional<std::string> mix_background_image(const Json& body) {
  if (!body.is_object()) return std::nullopt;
  auto it = body.find("background");
  if (it == body.end() || !it->is_object()) return std::nullopt;
  auto im = it->find("image");
  if (im == it->end() || !im->is_string() || im->get_ref<const std::string&>().empty()) return std::nullopt;
  return im->get<std::string>();
}

std::vector<MixPlacement> mix_placements(const MixSpec& s) {
  std::vector<MixRect> rects;
  const size_t n = s.inputs.size();
  if (s.layout_template.empty()) {
    rects = s.rects;
  } else if (n > 0) {
    size_t cols = n, rows = 1;
    if (s.layout_template == "grid") {
      cols = size_t(std::ceil(std::sqrt(double(n)) - 1e-9));
      rows = (n + cols - 1) / cols;
    }
    if (s.layout_template == "pip") {
      rects.push_back(MixRect{0, 0, 0, 100, 100, 0});
      // The others as 22% tiles from the bottom-right corner, four to a row.
      for (size_t k = 0; k + 1 < n; ++k)
        rects.push_back(MixRect{k + 1, 75.5 - 24.5 * double(k % 4), 75.5 - 24.5 * double(k / 4), 22, 22, int(k + 1)});
    } else {
      for (size_t i = 0; i < n; ++i)
        rects.push_back(MixRect{i, 100.0 * double(i % cols) / double(cols), 100.0 * double(i / cols) / double(rows),
                                100.0 / double(cols), 100.0 / double(rows), 0});
    }
  }
  std::stable_sort(rects.begin(), rects.end(), [](const MixRect& a, const MixRect& b) { return a.z < b.z; });
  std::vector<MixPlacement> out;
  for (const auto& r : rects) {
    if (r.input >= n) continue;
    MixPlacement p;
    p.input = r.input;
    p.z = r.z;
    p.x = even_px(r.x, s.width);
    p.y = even_px(r.y, s.height);
    p.w = std::max(2, even_px(r.x + r.w, s.width) - p.x);
    p.h = std::max(2, even_px(r.y + r.h, s.height) - p.y);
    p.x = std::min(p.x, s.width - p.w);
    p.y = std::min(p.y, s.height - p.h);
    out.push_back(p);
  }
  return out;
}

Json mix_spec_json(const MixSpec& s) {
  Json inputs = Json::array();
  for (const auto& in : s.inputs) inputs.push_back({{"stream", in.key()}, {"gain", in.gain}, {"mute", in.mute}});
  Json layout;
  if (!s.layout_template.empty()) {
    layout = s.layout_template;
  } else {
    Json rects = Json::array();
    for (const auto& r : s.rects)
      rects.push_back({{"input", r.input}, {"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h}, {"z", r.z}});
    layout = {{"rects", std::move(rects)}};
  }
  return {{"app", s.app},
          {"name", s.name},
          {"width", s.width},
          {"height", s.height},
          {"fps", s.fps},
          {"background", s.background_image.empty()
                             ? Json(fmt::format("#{:06x}", s.background))
                             : Json{{"color", fmt::format("#{:06x}", s.background)}, {"image", s.background_image}}},
          {"on_input_loss", s.on_input_loss == MixInputLoss::kLastFrame ? "last_frame" : "background"},
          {"layout", std::move(layout)},
          {"inputs", std::move(inputs)},
          {"video", {{"codec", s.video.codec}, {"preset", s.video.preset}, {"bitrate_kbps", s.video.bitrate_kbps}}},
          {"audio", {{"codec", "aac"}, {"bitrate_kbps", s.audio_bitrate_kbps}}}};
}

}  // namespace weir::transcode
