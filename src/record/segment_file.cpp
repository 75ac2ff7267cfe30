#include "record/segment_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace weir::record {

using core::Status;

namespace {

// Owns one file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status errno_status(const char* what, const std::string& path) {
  return Status::errorf("{} {}: {}", what, path, std::strerror(errno));
}

// Reads exactly out.size() bytes at `offset`.
Status pread_all(int fd, uint64_t offset, std::vector<uint8_t>& out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("pread", path);
    if (n == 0) return Status::errorf("pread {}: file ends at {} (it shrank)", path, offset + done);
    done += size_t(n);
  }
  return Status::ok();
}

}  // namespace

core::Result<SegmentFile> scan_segment_file(const std::string& path,
                                            const protocol::Fmp4ScanLimits& limits) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_status("open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_status("fstat", path);
  if (!S_ISREG(st.st_mode)) return Status::errorf("{}: not a regular file", path);
  auto scan = protocol::scan_fmp4(
      uint64_t(st.st_size),
      [&](uint64_t offset, size_t size, std::vector<uint8_t>& out) {
        out.resize(size);
        return pread_all(fd.get(), offset, out, path);
      },
      limits);
  if (!scan) return Status::errorf("{}: {}", path, scan.error());
  SegmentFile f;
  f.path = path;
  f.scan = std::move(*scan);
  return f;
}

core::Status trim_segment(const std::string& path, uint64_t valid_bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_status("open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_status("fstat", path);
  if (valid_bytes > uint64_t(st.st_size)) {
    return Status::errorf("trim {}: {} bytes asked, the file has {}", path, valid_bytes,
                          uint64_t(st.st_size));
  }
  if (valid_bytes < uint64_t(st.st_size) && ::ftruncate(fd.get(), off_t(valid_bytes)) != 0) {
    return errno_status("ftruncate", path);
  }
  if (::fsync(fd.get()) != 0) return errno_status("fsync", path);
  return Status::ok();
}

}  // namespace weir::record
