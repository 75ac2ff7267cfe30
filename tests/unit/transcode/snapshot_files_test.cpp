// Periodic snapshot files: names that sort by time, the directory template,
// retention choosing the oldest, and a real write with retention on disk.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "transcode/snapshot_files.h"

using namespace weir::transcode;
using weir::protocol::av::PictureFormat;
namespace fs = std::filesystem;

TEST_CASE("snapshot files: names, template, recognition") {
  // 2026-12-03 14:13:54.007 UTC
  const int64_t ms = 1796307234007;
  CHECK(snapshot_file_name(ms, PictureFormat::kJpeg) == "20261203T141354.007Z.jpg");
  CHECK(snapshot_file_name(ms, PictureFormat::kPng) == "20261203T141354.007Z.png");
  CHECK(is_snapshot_file_name("20261203T141354.007Z.jpg"));
  CHECK(is_snapshot_file_name("20261203T141354.007Z.png"));
  CHECK_FALSE(is_snapshot_file_name("20261203T141354.007Z.jpg.tmp"));
  CHECK_FALSE(is_snapshot_file_name("cover.jpg"));
  CHECK_FALSE(is_snapshot_file_name("2026120xT141354.007Z.jpg"));
  CHECK_FALSE(is_snapshot_file_name("20261203T141354.007Z.gif"));
  CHECK(snapshot_dir("/data", "snapshots/{app}/{stream}", "live", "cam1") == "/data/snapshots/live/cam1");
  CHECK(snapshot_dir("/data/", "{app}-{stream}", "a", "b") == "/data/a-b");
  CHECK(snapshot_dir("", "{app}/{stream}", "a", "b") == "a/b");
}

TEST_CASE("snapshot files: retention deletes the oldest beyond keep, ignores other files") {
  std::vector<std::string> names = {"20261203T141356.000Z.jpg", "notes.txt", "20261203T141354.000Z.jpg",
                                    "20261203T141355.000Z.png", "20261203T141357.000Z.jpg.tmp",
                                    "20261203T141353.500Z.jpg"};
  CHECK(snapshot_files_beyond(names, 0).empty());
  CHECK(snapshot_files_beyond(names, 4).empty());
  CHECK(snapshot_files_beyond(names, 2) ==
        std::vector<std::string>{"20261203T141353.500Z.jpg", "20261203T141354.000Z.jpg"});
  CHECK(snapshot_files_beyond(names, 1).size() == 3);
}

TEST_CASE("snapshot files: write_snapshot_file creates the directory, writes, keeps N") {
  std::string tmpl = (fs::temp_directory_path() / "weir-snapfiles-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()));
  const std::string dir = tmpl + "/live/cam";
  const uint8_t data[] = {0xff, 0xd8, 0xff, 0xd9};
  { std::ofstream(tmpl + "/keep-me.txt") << "x"; }
  for (int i = 0; i < 5; ++i) {
    auto r = write_snapshot_file(dir, snapshot_file_name(1796307234000 + i * 1000, PictureFormat::kJpeg), data,
                                 sizeof data, 3);
    REQUIRE(r);
    CHECK(r->bytes == sizeof data);
    CHECK(fs::file_size(r->path) == sizeof data);
    CHECK(r->deleted == (i >= 3 ? 1u : 0u));
  }
  std::vector<std::string> left;
  for (auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"20261203T141356.000Z.jpg", "20261203T141357.000Z.jpg",
                                         "20261203T141358.000Z.jpg"});
  // A directory that cannot be made: an error naming it.
  auto bad = write_snapshot_file(tmpl + "/keep-me.txt/sub", "x.jpg", data, sizeof data, 0);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("keep-me.txt/sub") != std::string::npos);
  fs::remove_all(tmpl);
}
