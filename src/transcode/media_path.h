// Where files named through the admin API may be: inside transcode.media_dir.
// A watermark's image and font and a mix's background image given in an API
// body are read by the server; this keeps the API from reading any file the
// server can (a key, another tenant's media). Paths from the config file are
// not checked here (the operator wrote them).
//
// The check resolves both the directory and the file with realpath(3), so
// `..` components and symlinks pointing out of the directory are refused
// (a symlink inside it to a file inside it is fine). An empty media_dir
// refuses every API-supplied path: the safe default.
//
// Thread: any thread that is not an event loop (realpath reads the file
// system).
#pragma once

#include <string>

#include "core/status.h"

namespace weir::transcode {

// Ok when `path` (absolute) resolves to an existing file inside
// `media_dir`; otherwise an error starting with "<field>: " that says why.
core::Status check_media_path(const std::string& media_dir, const std::string& path, const std::string& field);

}  // namespace weir::transcode
