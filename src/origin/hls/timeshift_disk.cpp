#include "origin/hls/timeshift_disk.h"

#include <spdlog/spdlog.h>

#include "core/async_fs.h"

namespace weir::origin::hls {

TimeshiftDisk::TimeshiftDisk(core::Loop& loop, std::shared_ptr<StreamHls> store, std::string dir)
    : loop_(loop), store_(std::move(store)), dir_(std::move(dir)) {}

void TimeshiftDisk::pump() {
  for (auto& path : store_->take_deletions()) core::unlink_async(loop_, std::move(path));
  for (auto& job : store_->take_spill_jobs()) {
    if (queue_.size() >= kMaxQueued || dir_state_ == DirState::kFailed) {
      ++dropped_;
      store_->spilled(job.msn, {}, false);
      continue;
    }
    queue_.push_back(std::move(job));
  }
  if (dir_state_ == DirState::kNone && !queue_.empty()) {
    dir_state_ = DirState::kCreating;
    auto self = shared_from_this();
    core::mkdirs_async(loop_, dir_, [self](core::Status st) {
      if (!st) {
        spdlog::error("time-shift {}/{}: {}; segments stay in memory only", self->store_->app(),
                      self->store_->name(), st.message());
        self->dir_state_ = DirState::kFailed;
        for (auto& j : self->queue_) self->store_->spilled(j.msn, {}, false);
        self->queue_.clear();
        return;
      }
      self->dir_state_ = DirState::kReady;
      self->next();
    });
    return;
  }
  next();
}

void TimeshiftDisk::next() {
  if (writing_ || dir_state_ != DirState::kReady || queue_.empty()) return;
  StreamHls::SpillJob job = std::move(queue_.front());
  queue_.pop_front();
  writing_ = true;
  std::string path = dir_ + "/seg" + std::to_string(job.msn) + ".ts";
  auto self = shared_from_this();
  uint64_t msn = job.msn;
  core::write_file_async(loop_, path, std::move(job.bytes), [self, msn, path](core::Status st) {
    self->writing_ = false;
    if (self->removed_) {
      // The stream went away while this was being written.
      core::unlink_async(self->loop_, path, [self](core::Status) { core::rmdir_async(self->loop_, self->dir_); });
      return;
    }
    if (!st) {
      spdlog::warn("time-shift {}/{}: {}", self->store_->app(), self->store_->name(), st.message());
      core::unlink_async(self->loop_, path);
    }
    self->store_->spilled(msn, path, st.is_ok());
    for (auto& p : self->store_->take_deletions()) core::unlink_async(self->loop_, std::move(p));
    self->next();
  });
}

void TimeshiftDisk::remove_all() {
  removed_ = true;
  queue_.clear();
  auto self = shared_from_this();
  auto paths = store_->take_all_paths();
  auto remaining = std::make_shared<size_t>(paths.size());
  auto done = [self, remaining] {
    if (--*remaining == 0) core::rmdir_async(self->loop_, self->dir_);
  };
  if (paths.empty()) {
    core::rmdir_async(loop_, dir_);
    return;
  }
  for (auto& p : paths) core::unlink_async(loop_, std::move(p), [done](core::Status) { done(); });
}

}  // namespace weir::origin::hls
