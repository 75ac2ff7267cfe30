// TimeshiftDisk: moves a stream's older time-shift segments from memory to
// files and deletes them when the window or the disk budget drops them. All
// file I/O goes through core::async_fs (libuv threadpool), one write at a
// time, so the packager's loop never blocks on the disk.
//
// Thread: the packager's loop. Lifetime: shared_ptr; callbacks in flight keep
// it alive after the packager is gone.
// Queue bound: at most kMaxQueued spill jobs wait; overflow action: the
// segment is not spilled (it is evicted from memory by retention instead) and
// counted in dropped().
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "core/loop.h"
#include "origin/hls/stream_hls.h"

namespace weir::origin::hls {

class TimeshiftDisk : public std::enable_shared_from_this<TimeshiftDisk> {
 public:
  static constexpr size_t kMaxQueued = 64;

  TimeshiftDisk(core::Loop& loop, std::shared_ptr<StreamHls> store, std::string dir);
  // Takes the store's pending spill jobs and deletions and starts them.
  void pump();
  // Deletes every file this stream wrote, then its directory.
  void remove_all();
  const std::string& dir() const { return dir_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void next();

  core::Loop& loop_;
  std::shared_ptr<StreamHls> store_;
  std::string dir_;
  enum class DirState { kNone, kCreating, kReady, kFailed } dir_state_ = DirState::kNone;
  std::deque<StreamHls::SpillJob> queue_;
  bool writing_ = false;
  bool removed_ = false;  // remove_all() ran: late writes delete their file
  uint64_t dropped_ = 0;
};

}  // namespace weir::origin::hls
