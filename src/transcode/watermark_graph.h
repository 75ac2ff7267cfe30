// The watermark's part of a libavfilter graph, and the blocking check of a
// watermark's files.
//
//   in -> overlay(main) <- format=rgba <- scale <- movie=IMAGE [colorchannelmixer=aa for opacity]
//      -> drawtext (font, size, colour, box, %{localtime:...} for strftime)  -> out
//
// The files are checked first (a regular file, its size, an image's or a
// font's signature: drawtext would silently fall back to a fontconfig
// default for a missing or broken font). Only libavfilter's filters draw (movie, scale, format, colorchannelmixer,
// overlay, drawtext); no pixel code here. The image is read by the movie
// filter when the graph is configured: whoever builds a graph with a
// watermark does blocking file I/O (the pipeline, on the transcode pool).
//
// Thread: any thread that is not an event loop (file I/O); graphs are not
// shared.
#pragma once

extern "C" {
#include <libavfilter/avfilter.h>
}

#include <string>

#include "core/status.h"
#include "transcode/image_source.h"
#include "transcode/watermark_spec.h"

namespace weir::transcode {

// Adds the filters drawing `spec` on frames of `width` x `height` after
// `in`'s output pad 0; the result's output pad 0 carries the watermarked
// picture (`in` itself when the spec is empty). The graph is not configured.
core::Result<AVFilterContext*> add_watermark(AVFilterGraph* graph, AVFilterContext* in, int width, int height,
                                             const WatermarkSpec& spec);

// Blocking (file I/O, a trial graph): the image file exists, is an image
// (PNG, JPEG, BMP, GIF, WebP or TIFF by its signature) that FFmpeg decodes,
// at most kMaxImageBytes; the font is a TrueType/OpenType/WOFF file (by its
// signature: drawtext would silently fall back to a fontconfig default); the whole
// watermark draws on a trial 640x360 frame. On error `field` names the field
// ("image.file", "text.font").
constexpr uint64_t kMaxFontBytes = 64ull << 20;
core::Status check_watermark_files(const WatermarkSpec& spec, std::string& field);

}  // namespace weir::transcode
