// SegmentWriter: writes one asset's segment files (fMP4: init, then
// fragments appended one by one) off the event loops, on a worker-pool
// strand, so the writes of one asset stay in order.
//
// Thread: every method on the owner loop given at construction or to
// rebind() (the loop of the recording session feeding it); `on_failed` runs
// there. The file work runs on a pool thread.
//
// Bounds: at most `max_queued_bytes` of fragments waiting to be written (and
// the strand's job cap). Overflow action: FAIL THE RECORDING - nothing more
// is queued, `on_failed("writer queue full: ...")` tells the owner (the disk
// is too slow for the stream; the live stream is not affected). A failed
// write (ENOSPC, EACCES, EIO...) fails it the same way, with the errno text.
//
// Crash safety: a fragment is written with one pwrite at the file's end; with
// fsync "fragment" the file is fsync'ed after each one, with "segment" when
// the segment closes (and its directory once, at creation). A kill -9 leaves
// at most a partly written last fragment, which recovery cuts off.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/buffer.h"
#include "core/loop.h"
#include "core/worker_pool.h"
#include "record/record_metrics.h"

namespace weir::record {

enum class FsyncPolicy { kFragment, kSegment, kNever };
FsyncPolicy fsync_policy(const std::string& name);

class SegmentWriter {
 public:
  struct Options {
    size_t max_queued_bytes = 64 << 20;
    size_t max_queued_jobs = 4096;
    FsyncPolicy fsync = FsyncPolicy::kSegment;
  };
  SegmentWriter(core::WorkerPool& pool, core::Loop& owner, Options opt, RecordMetrics& metrics,
                std::function<void(const std::string& why)> on_failed);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // The session feeding this asset moved to another loop (a publisher came
  // back on another loop): later callbacks run there.
  void rebind(core::Loop& owner) { owner_ = &owner; }

  // Creates `path` (O_EXCL; the directory must exist) and writes `init`.
  // A segment still open is closed first.
  void open_segment(std::string path, core::Slice init);
  // Appends one fragment (moof + mdat) to the open segment.
  void append(core::Slice fragment);
  // Closes the open segment (fsync unless "never"). `done` runs on the owner
  // loop once this and everything queued before it is on disk (or failed:
  // its argument says whether the writer had failed).
  void close_segment(std::function<void(bool ok)> done = nullptr);

  bool failed() const { return failed_; }
  uint64_t bytes_written() const { return state_->bytes.load(std::memory_order_relaxed); }
  uint64_t fragments_written() const { return state_->fragments.load(std::memory_order_relaxed); }
  size_t queued_bytes() const { return state_->queued.load(std::memory_order_relaxed); }

 private:
  // Shared with the jobs (which may outlive this object by one running job).
  struct State {
    int fd = -1;  // pool thread only (strand: one job at a time)
    std::string path;
    std::atomic<size_t> queued{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> fragments{0};
    uint64_t file_size = 0;
    ~State();
  };

  void submit(std::function<core::Status(State&)> work, size_t bytes, std::function<void(bool)> done);
  void fail(const std::string& why);

  core::Loop* owner_;
  Options opt_;
  RecordMetrics& metrics_;
  std::function<void(const std::string&)> on_failed_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::unique_ptr<core::WorkerPool::Strand> strand_;
  bool failed_ = false;
};

}  // namespace weir::record
