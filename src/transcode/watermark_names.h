// Stream names of an app's watermark (apps.<app>.watermark): the watermarked
// output ({stream}_wm by default), and with serve: replace which stream a
// play of a name reads (the published name plays the output, clean_name the
// published stream).
//
// Pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"

namespace weir::transcode {

// "foo" -> "foo_wm".
std::string watermark_stream_name(const core::WatermarkConfig& wm, std::string_view source);
// "foo" -> "foo_clean" (the clean picture's name with serve: replace).
std::string watermark_clean_name(const core::WatermarkConfig& wm, std::string_view source);
// "foo_wm" -> "foo"; nullopt when `name` is not a watermark output name.
std::optional<std::string> watermark_source_of(const core::WatermarkConfig& wm, std::string_view name);
// With serve: replace, the stream a play of `stream` reads: the output for a
// published name, the published stream for its clean_name; "" = `stream`
// itself (serve: separate, an output's or a rendition's own name).
std::string watermark_play_hub(const core::AppConfig& app, std::string_view stream);

}  // namespace weir::transcode
