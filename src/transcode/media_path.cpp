#include "transcode/media_path.h"

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace weir::transcode {

using core::Status;

namespace {
// realpath(3) of `p`, or "" with errno set.
std::string resolve(const std::string& p) {
  std::unique_ptr<char, decltype(&std::free)> r(::realpath(p.c_str(), nullptr), &std::free);
  return r ? std::string(r.get()) : std::string();
}
}  // namespace

Status check_media_path(const std::string& media_dir, const std::string& path, const std::string& field) {
  if (media_dir.empty())
    return Status::errorf("{}: files named through the API must be inside transcode.media_dir, which is not set", field);
  if (path.empty() || path.front() != '/') return Status::errorf("{}: must be an absolute path", field);
  const std::string dir = resolve(media_dir);
  if (dir.empty())
    return Status::errorf("{}: transcode.media_dir {} cannot be resolved: {}", field, media_dir, std::strerror(errno));
  const std::string file = resolve(path);
  if (file.empty()) return Status::errorf("{}: {}: {}", field, path, std::strerror(errno));
  const std::string prefix = dir == "/" ? dir : dir + "/";
  if (file.size() <= prefix.size() || file.compare(0, prefix.size(), prefix) != 0)
    return Status::errorf("{}: {} is outside transcode.media_dir ({})", field, path, media_dir);
  return Status::ok();
}

}  // namespace weir::transcode
