#include "transcode/snapshot_files.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "core/atomic_file.h"

namespace weir::transcode {

namespace fs = std::filesystem;

std::string snapshot_dir(const std::string& root, const std::string& dir_template, const std::string& app,
                         const std::string& stream) {
  std::string out;
  for (size_t i = 0; i < dir_template.size();) {
    if (dir_template.compare(i, 5, "{app}") == 0) {
      out += app;
      i += 5;
    } else if (dir_template.compare(i, 8, "{stream}") == 0) {
      out += stream;
      i += 8;
    } else {
      out += dir_template[i++];
    }
  }
  if (root.empty() || root == ".") return out;
  return root.back() == '/' ? root + out : root + "/" + out;
}

std::string snapshot_file_name(int64_t wall_ms, protocol::av::PictureFormat format) {
  std::time_t t = std::time_t(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}.{:03d}Z.{}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, int(wall_ms % 1000), protocol::av::picture_extension(format));
}

bool is_snapshot_file_name(std::string_view n) {
  // YYYYMMDDTHHMMSS.mmmZ.jpg / .png
  if (n.size() != 24) return false;
  auto digits = [&](size_t from, size_t count) {
    for (size_t i = from; i < from + count; ++i)
      if (n[i] < '0' || n[i] > '9') return false;
    return true;
  };
  return digits(0, 8) && n[8] == 'T' && digits(9, 6) && n[15] == '.' && digits(16, 3) && n[19] == 'Z' &&
         (n.substr(20) == ".jpg" || n.substr(20) == ".png");
}

std::vector<std::string> snapshot_files_beyond(std::vector<std::string> names, size_t keep) {
  std::vector<std::string> ours;
  for (auto& n : names)
    if (is_snapshot_file_name(n)) ours.push_back(std::move(n));
  if (keep == 0 || ours.size() <= keep) return {};
  // The time prefix sorts; the extension only breaks ties.
  std::sort(ours.begin(), ours.end());
  ours.resize(ours.size() - keep);
  return ours;
}

core::Result<SnapshotFile> write_snapshot_file(const std::string& dir, const std::string& name, const uint8_t* data,
                                               size_t size, size_t keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::Status::errorf("cannot create {}: {}", dir, ec.message());
  SnapshotFile out;
  out.name = name;
  out.path = dir + "/" + name;
  out.bytes = size;
  if (auto st = core::write_file_atomic(out.path, data, size); !st) return st;
  if (keep == 0) return out;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) names.push_back(it->path().filename());
  for (const std::string& old : snapshot_files_beyond(std::move(names), keep)) {
    std::error_code rm;
    if (fs::remove(dir + "/" + old, rm)) ++out.deleted;
  }
  return out;
}

}  // namespace weir::transcode
