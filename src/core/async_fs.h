// File operations that never block a loop: each runs on libuv's threadpool
// (uv_fs_* with a callback) and reports on the calling loop.
//
// Thread: call on a loop thread; callbacks run on that loop.
// Bounds: read_file refuses files larger than `max_bytes`.
#pragma once

#include <functional>
#include <string>

#include "core/buffer.h"
#include "core/loop.h"
#include "core/status.h"

namespace weir::core {

// Creates `path` and its parents (like mkdir -p; existing dirs are fine).
void mkdirs_async(Loop& loop, std::string path, std::function<void(Status)> done);
// Writes `bytes` to `path` (created or truncated, mode 0644).
void write_file_async(Loop& loop, std::string path, Slice bytes, std::function<void(Status)> done);
// Reads the whole file.
void read_file_async(Loop& loop, std::string path, size_t max_bytes, std::function<void(Result<Slice>)> done);
// Deletes a file (a missing file is not an error).
void unlink_async(Loop& loop, std::string path, std::function<void(Status)> done = nullptr);
// Deletes an empty directory (errors ignored).
void rmdir_async(Loop& loop, std::string path);

}  // namespace weir::core
