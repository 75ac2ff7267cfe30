// transcode.media_dir: API-supplied files must resolve inside it (real files,
// directories and symlinks in a temporary directory).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "transcode/media_path.h"

using namespace weir;
namespace fs = std::filesystem;

TEST_CASE("media_dir: inside is allowed; .., symlinks out, missing files and no media_dir are refused") {
  const fs::path root = fs::temp_directory_path() / ("weir_media_path_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "media" / "sub");
  fs::create_directories(root / "media-other");
  std::ofstream(root / "media" / "sub" / "a.png") << "x";
  std::ofstream(root / "media-other" / "b.png") << "x";
  std::ofstream(root / "secret") << "x";
  fs::create_symlink(root / "secret", root / "media" / "link-out.png");
  fs::create_symlink(root / "media" / "sub" / "a.png", root / "media" / "link-in.png");
  fs::create_symlink(root / "media", root / "media-link");
  const std::string dir = (root / "media").string();
  auto ok = [&](const std::string& d, const fs::path& p) { return bool(transcode::check_media_path(d, p.string(), "f")); };

  CHECK(ok(dir, root / "media" / "sub" / "a.png"));
  CHECK(ok(dir, root / "media" / "link-in.png"));
  CHECK(ok(dir, root / "media" / "sub" / ".." / "sub" / "a.png"));  // stays inside
  CHECK(ok(dir + "/", root / "media" / "sub" / "a.png"));
  CHECK(ok((root / "media-link").string(), root / "media" / "sub" / "a.png"));  // the directory itself via a link
  CHECK(ok(dir, root / "media-link" / "sub" / "a.png"));

  CHECK_FALSE(ok(dir, root / "media" / ".." / "secret"));
  CHECK_FALSE(ok(dir, root / "media" / "link-out.png"));
  CHECK_FALSE(ok(dir, root / "media-other" / "b.png"));  // a sibling sharing the prefix "media"
  CHECK_FALSE(ok(dir, root / "media"));                  // the directory is not a file in it
  CHECK_FALSE(ok(dir, root / "media" / "missing.png"));
  CHECK_FALSE(ok(dir, "relative.png"));
  CHECK_FALSE(ok("", root / "media" / "sub" / "a.png"));
  CHECK_FALSE(ok((root / "nodir").string(), root / "media" / "sub" / "a.png"));

  auto st = transcode::check_media_path(dir, (root / "secret").string(), "background.image");
  REQUIRE_FALSE(st);
  CHECK(st.message().rfind("background.image: ", 0) == 0);
  CHECK(st.message().find("outside transcode.media_dir") != std::string::npos);
  st = transcode::check_media_path("", (root / "secret").string(), "image.file");
  CHECK(st.message().find("transcode.media_dir") != std::string::npos);
  fs::remove_all(root);
}
