#include "transcode/image_source.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "transcode/filter_graph.h"

namespace weir::transcode {

using core::Status;

std::string read_file_head(const std::string& path, uint64_t max, unsigned char* head, size_t head_size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fmt::format("{}: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
  if (st.st_size <= 0) return path + " is empty";
  if (uint64_t(st.st_size) > max) return fmt::format("{} is larger than {} bytes", path, max);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return fmt::format("{}: {}", path, std::strerror(errno));
  std::memset(head, 0, head_size);
  (void)std::fread(head, 1, head_size, f.get());
  return "";
}

bool is_image_signature(const unsigned char* h) {
  auto starts = [h](const char* sig, size_t n, size_t at = 0) { return std::memcmp(h + at, sig, n) == 0; };
  return starts("\x89PNG\r\n\x1a\n", 8) || starts("\xff\xd8\xff", 3) || starts("BM", 2) || starts("GIF8", 4) ||
         (starts("RIFF", 4) && starts("WEBP", 4, 8)) || starts("II*\0", 4) || starts("MM\0*", 4);
}

Status check_image_file(const std::string& path, const std::string& field) {
  unsigned char head[24];
  if (std::string why = read_file_head(path, kMaxImageBytes, head, sizeof head); !why.empty())
    return Status::error(field + ": " + why);
  if (!is_image_signature(head))
    return Status::errorf("{}: {} is not an image (PNG, JPEG, BMP, GIF, WebP or TIFF)", field, path);
  if (std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(head + 12, "IHDR", 4) == 0) {
    auto be32 = [&](size_t at) {
      return uint32_t(head[at]) << 24 | uint32_t(head[at + 1]) << 16 | uint32_t(head[at + 2]) << 8 | head[at + 3];
    };
    const uint32_t w = be32(16), h = be32(20);
    if (w == 0 || h == 0 || w > uint32_t(kMaxImageSide) || h > uint32_t(kMaxImageSide))
      return Status::errorf("{}: {} is {}x{} pixels (at most {} on each side)", field, path, w, h, kMaxImageSide);
  }
  return Status::ok();
}

core::Result<AVFilterContext*> add_image_source(AVFilterGraph* g, const char* name, const std::string& path,
                                                const std::string& field) {
  if (Status st = check_image_file(path, field); !st) return st;
  auto movie = make_filter(g, "movie", name, {{"filename", path}});
  if (!movie) return Status::errorf("{}: {} cannot be read as an image ({})", field, path, movie.error());
  return *movie;
}

}  // namespace weir::transcode
