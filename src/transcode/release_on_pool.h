// release_on_pool: drops the last reference to a job's FFmpeg side on the
// worker pool rather than on the loop (closing x264/x265 joins their
// threads). When the pool refuses (stopping, full), the closure is destroyed
// at once and the object with it, on the calling thread; that is logged.
//
// Thread: the loop that owns `obj`.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

#include "core/loop.h"
#include "core/worker_pool.h"

namespace weir::transcode {

template <class T>
void release_on_pool(core::WorkerPool& pool, core::Loop& loop, std::shared_ptr<T> obj, std::string_view who) {
  if (!obj) return;
  if (!pool.submit(loop, [obj = std::move(obj)]() mutable {
        obj.reset();
        return core::Status::ok();
      }, nullptr))
    spdlog::debug("{}: the pool refused the encoders' release; closed on the loop", who);
}

}  // namespace weir::transcode
