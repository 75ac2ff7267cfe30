// Image files drawn on pictures (a watermark's image, a mix's background):
// the checks made before FFmpeg reads one, and the libavfilter source that
// reads it (the `movie` filter, its file name set as an option, unescaped).
//
// Checks: a readable regular file of 1 to kMaxImageBytes whose first bytes
// are an image signature (PNG, JPEG, BMP, GIF, WebP, TIFF); a PNG's header
// must give at most kMaxImageSide pixels on each side (checked before any
// decoding, so a small file cannot ask for a huge picture). Every message
// starts with the field's name ("image.file", "background.image").
//
// Thread: any thread that is not an event loop (file I/O).
#pragma once

extern "C" {
#include <libavfilter/avfilter.h>
}

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace weir::transcode {

constexpr uint64_t kMaxImageBytes = 32ull << 20;
constexpr int kMaxImageSide = 8192;

// Why `path` is not a readable regular file of 1 to `max` bytes ("" if it
// is); its first `head_size` bytes (zero-padded) into `head`.
std::string read_file_head(const std::string& path, uint64_t max, unsigned char* head, size_t head_size);

// PNG, JPEG, BMP, GIF, WebP or TIFF by the first 16 bytes.
bool is_image_signature(const unsigned char* head);

// The file checks above for `path`; errors say "<field>: ...".
core::Status check_image_file(const std::string& path, const std::string& field);

// check_image_file(), then a `movie` source named `name` reading `path` in
// `g` (not configured: the file is decoded when the graph is).
core::Result<AVFilterContext*> add_image_source(AVFilterGraph* g, const char* name, const std::string& path,
                                                const std::string& field);

}  // namespace weir::transcode
