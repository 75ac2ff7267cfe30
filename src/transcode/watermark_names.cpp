#include "transcode/watermark_names.h"

#include "transcode/rendition_name.h"

namespace weir::transcode {

std::string watermark_stream_name(const core::WatermarkConfig& wm, std::string_view source) {
  return rendition_stream_name(wm.output, source, "");
}

std::string watermark_clean_name(const core::WatermarkConfig& wm, std::string_view source) {
  return rendition_stream_name(wm.clean_name, source, "");
}

std::optional<std::string> watermark_source_of(const core::WatermarkConfig& wm, std::string_view name) {
  return source_of(wm.output, "", name);
}

std::string watermark_play_hub(const core::AppConfig& app, std::string_view stream) {
  const core::WatermarkConfig& wm = app.watermark;
  if (!wm.enabled || wm.serve != "replace") return "";
  if (auto clean = source_of(wm.clean_name, "", stream)) return *clean;
  if (watermark_source_of(wm, stream) || match_rendition(app.rendition_name, app.renditions, stream)) return "";
  return watermark_stream_name(wm, stream);
}

}  // namespace weir::transcode
