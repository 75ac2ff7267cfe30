// Whole files written so readers never see half of one: the bytes go to
// `path + ".tmp"`, are fsynced, and the tmp file is renamed over `path`.
//
// Thread: any; blocking (write, fsync, rename): a worker thread
// (core/worker_pool.h), never an event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace weir::core {

// Errors name `path` and the call that failed; the tmp file is removed on any
// failure and nothing is left at `path` that was not there before.
Status write_file_atomic(const std::string& path, const uint8_t* data, size_t size);

}  // namespace weir::core
