#include "record/segment_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace weir::record {

namespace {

uint64_t now_us() {
  return uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

// Writes all of `bytes` at `offset` (retrying short writes and EINTR).
core::Status pwrite_all(int fd, core::ByteView bytes, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::Status::errorf("write {}: {}", path, n < 0 ? std::strerror(errno) : "wrote nothing");
    done += size_t(n);
  }
  return core::Status::ok();
}

core::Status fsync_dir_of(const std::string& path) {
  std::string dir = path.substr(0, path.rfind('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return core::Status::errorf("open {}: {}", dir, std::strerror(errno));
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return core::Status::errorf("fsync {}: {}", dir, std::strerror(e));
  return core::Status::ok();
}

}  // namespace

FsyncPolicy fsync_policy(const std::string& name) {
  if (name == "fragment") return FsyncPolicy::kFragment;
  if (name == "never") return FsyncPolicy::kNever;
  return FsyncPolicy::kSegment;
}

SegmentWriter::State::~State() {
  if (fd >= 0) ::close(fd);
}

SegmentWriter::SegmentWriter(core::WorkerPool& pool, core::Loop& owner, Options opt, RecordMetrics& metrics,
                             std::function<void(const std::string&)> on_failed)
    : owner_(&owner),
      opt_(opt),
      metrics_(metrics),
      on_failed_(std::move(on_failed)),
      strand_(std::make_unique<core::WorkerPool::Strand>(pool, opt.max_queued_jobs)) {}

SegmentWriter::~SegmentWriter() = default;  // the strand cancels what is queued

void SegmentWriter::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  strand_->cancel();
  if (on_failed_) on_failed_(why);
}

void SegmentWriter::submit(std::function<core::Status(State&)> work, size_t bytes, std::function<void(bool)> done) {
  if (failed_) {
    if (done) done(false);
    return;
  }
  if (state_->queued.load(std::memory_order_relaxed) + bytes > opt_.max_queued_bytes) {
    metrics_.failed_queue_full.fetch_add(1, std::memory_order_relaxed);
    fail(fmt::format("writer queue full: {} bytes waiting for the disk (storage.writer_queue_bytes {})",
                     state_->queued.load(std::memory_order_relaxed), opt_.max_queued_bytes));
    if (done) done(false);
    return;
  }
  state_->queued.fetch_add(bytes, std::memory_order_relaxed);
  auto st = state_;
  bool ok = strand_->submit(
      *owner_,
      [st, work = std::move(work), bytes]() -> core::Status {
        core::Status r = work(*st);
        st->queued.fetch_sub(bytes, std::memory_order_relaxed);
        return r;
      },
      [this, done](core::Status r) {
        // Runs on the owner loop; the strand (and so this done) is cancelled
        // when the writer is destroyed.
        if (!r.is_ok() && !failed_) {
          if (r.message().rfind("open ", 0) == 0 || r.message().rfind("mkdir ", 0) == 0)
            metrics_.failed_open_error.fetch_add(1, std::memory_order_relaxed);
          else
            metrics_.failed_write_error.fetch_add(1, std::memory_order_relaxed);
          fail(r.message());
        }
        if (done) done(r.is_ok() && !failed_);
      });
  if (!ok) {
    state_->queued.fetch_sub(bytes, std::memory_order_relaxed);
    metrics_.failed_queue_full.fetch_add(1, std::memory_order_relaxed);
    fail("writer queue full: the worker pool refused the write (storage.workers busy)");
    if (done) done(false);
  }
}

void SegmentWriter::open_segment(std::string path, core::Slice init) {
  const FsyncPolicy policy = opt_.fsync;
  RecordMetrics* m = &metrics_;
  const size_t n = init.size();
  submit(
      [path = std::move(path), init = std::move(init), policy, m](State& s) -> core::Status {
        if (s.fd >= 0) {
          if (policy != FsyncPolicy::kNever) ::fsync(s.fd);
          ::close(s.fd);
          s.fd = -1;
        }
        const uint64_t t0 = now_us();
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        if (ec) return core::Status::errorf("mkdir {}: {}", std::filesystem::path(path).parent_path().string(), ec.message());
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return core::Status::errorf("open {}: {}", path, std::strerror(errno));
        s.fd = fd;
        s.path = path;
        s.file_size = 0;
        if (auto st = pwrite_all(fd, init.view(), 0, path); !st) return st;
        s.file_size = init.size();
        if (policy != FsyncPolicy::kNever) {
          if (::fsync(fd) != 0) return core::Status::errorf("fsync {}: {}", path, std::strerror(errno));
          if (auto st = fsync_dir_of(path); !st) return st;
        }
        s.bytes.fetch_add(init.size(), std::memory_order_relaxed);
        m->bytes_written.fetch_add(init.size(), std::memory_order_relaxed);
        m->note_write_us(now_us() - t0);
        return core::Status::ok();
      },
      n, nullptr);
}

void SegmentWriter::append(core::Slice fragment) {
  const FsyncPolicy policy = opt_.fsync;
  RecordMetrics* m = &metrics_;
  const size_t n = fragment.size();
  submit(
      [fragment = std::move(fragment), policy, m](State& s) -> core::Status {
        if (s.fd < 0) return core::Status::error("write: no segment open");
        const uint64_t t0 = now_us();
        if (auto st = pwrite_all(s.fd, fragment.view(), s.file_size, s.path); !st) {
          // Leave no half fragment behind: the file ends at the last whole one.
          // (A failed truncate leaves the torn tail to recovery's scan.)
          [[maybe_unused]] int rc = ::ftruncate(s.fd, off_t(s.file_size));
          return st;
        }
        s.file_size += fragment.size();
        if (policy == FsyncPolicy::kFragment && ::fdatasync(s.fd) != 0)
          return core::Status::errorf("fsync {}: {}", s.path, std::strerror(errno));
        s.bytes.fetch_add(fragment.size(), std::memory_order_relaxed);
        s.fragments.fetch_add(1, std::memory_order_relaxed);
        m->bytes_written.fetch_add(fragment.size(), std::memory_order_relaxed);
        m->fragments_written.fetch_add(1, std::memory_order_relaxed);
        m->note_write_us(now_us() - t0);
        return core::Status::ok();
      },
      n, nullptr);
}

void SegmentWriter::close_segment(std::function<void(bool)> done) {
  const FsyncPolicy policy = opt_.fsync;
  RecordMetrics* m = &metrics_;
  submit(
      [policy, m](State& s) -> core::Status {
        if (s.fd < 0) return core::Status::ok();
        int rc = policy != FsyncPolicy::kNever ? ::fsync(s.fd) : 0;
        int e = errno;
        ::close(s.fd);
        s.fd = -1;
        if (rc != 0) return core::Status::errorf("fsync {}: {}", s.path, std::strerror(e));
        m->segments_written.fetch_add(1, std::memory_order_relaxed);
        return core::Status::ok();
      },
      0, std::move(done));
}

}  // namespace weir::record
