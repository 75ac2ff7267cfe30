#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "record/asset_id.h"
#include "record/catalogue.h"

using namespace weir::record;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "weir-catalogue-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

Asset make_asset(std::string id, std::string app, std::string stream, int64_t started_at_ms) {
  Asset a;
  a.id = std::move(id);
  a.app = std::move(app);
  a.stream = std::move(stream);
  a.state = AssetState::kReady;
  a.started_at_ms = started_at_ms;
  a.ended_at_ms = started_at_ms + 60000;
  a.duration_s = 59.96;
  a.bytes = 12345678;
  a.video_codec = "avc1.64001f";
  a.audio_codec = "mp4a.40.2";
  a.width = 1280;
  a.height = 720;
  a.dir = "/var/lib/weir/" + a.app + "/" + a.id;
  a.mp4 = "asset.mp4";
  a.playlist = "index.m3u8";
  a.cover = "cover.jpg";
  a.segments = {"seg-00000.m4s", "seg-00001.m4s"};
  a.gaps = 1;
  a.title = "Title of " + a.id;
  a.description = "desc";
  a.tags = {"news", "live"};
  a.created_at_ms = started_at_ms;
  a.updated_at_ms = started_at_ms + 61000;
  return a;
}

std::unique_ptr<Catalogue> open_ok(const std::string& path) {
  auto c = Catalogue::open(path);
  INFO((c ? std::string() : c.error()));
  REQUIRE(c);
  return std::move(*c);
}

int user_version(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::vector<std::string> ids_of(const std::vector<Asset>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.id);
  return out;
}

std::vector<std::string> list_ids(Catalogue& c, AssetQuery q) {
  q.limit = kMaxListLimit;
  auto page = c.list(q);
  INFO((page ? std::string() : page.error()));
  REQUIRE(page);
  CHECK(page->next_cursor.empty());
  return ids_of(page->items);
}

using Ids = std::vector<std::string>;

}  // namespace

TEST_CASE("asset ids are URL-safe, sortable by time, unique and valid") {
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 2000; ++i) {
    std::string id = new_asset_id(1700000000000 + i / 4);
    CHECK(id.size() == kAssetIdLength);
    CHECK(valid_asset_id(id));
    CHECK(id.find_first_not_of("0123456789abcdefghjkmnpqrstvwxyz") == std::string::npos);
    CHECK(seen.insert(id).second);
    if (i % 4 == 0) CHECK(prev < id);  // a later millisecond sorts after
    prev = id;
  }
  CHECK(new_asset_id(1).substr(0, 10) == "0000000001");
  CHECK(new_asset_id(-5).substr(0, 10) == "0000000000");
  CHECK(new_asset_id(int64_t(1) << 40) < new_asset_id((int64_t(1) << 40) + 1));
}

TEST_CASE("asset id validation refuses anything that is not one safe path component") {
  CHECK(valid_asset_id("a"));
  CHECK(valid_asset_id("0h2k9x-part_2"));
  CHECK(valid_asset_id(std::string(kMaxAssetIdLength, 'z')));
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "../x", "a/b", "/etc/passwd", "a%2fb", "%2e%2e", "A", "abc.mp4", "a b",
                          "-rf", "_x", "a\\b", "a:b", "\xc3\xa9", std::string("a\0b", 3),
                          std::string(kMaxAssetIdLength + 1, 'a')})
    CHECK_FALSE(valid_asset_id(bad));
}

TEST_CASE("asset states have stable names") {
  for (auto s : {AssetState::kRecording, AssetState::kMerging, AssetState::kReady, AssetState::kFailed,
                 AssetState::kUploading, AssetState::kUploaded})
    CHECK(asset_state_from_string(to_string(s)) == s);
  CHECK(to_string(AssetState::kUploading) == "uploading");
  CHECK_FALSE(asset_state_from_string("Ready"));
  CHECK_FALSE(asset_state_from_string(""));
}

TEST_CASE("catalogue: insert, get, update, remove") {
  TempDir dir;
  auto c = open_ok(dir.file("catalogue.sqlite3"));
  Asset a = make_asset(new_asset_id(1700000000000), "live", "cam1", 1700000000000);
  REQUIRE(c->insert(a));

  auto got = c->get(a.id);
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == a);

  // A duplicate id is refused with SQLite's reason.
  auto dup = c->insert(a);
  REQUIRE_FALSE(dup);
  CHECK_THAT(dup.message(), Catch::Contains("UNIQUE"));

  // Whole-record update, tags and segments replaced.
  a.state = AssetState::kUploaded;
  a.tags = {"archive"};
  a.segments.clear();
  a.remote = "s3://bucket/live/" + a.id + "/";
  a.bytes = uint64_t(1) << 40;
  a.title = "Renamed";
  auto up = c->update(a);
  REQUIRE(up);
  CHECK(*up);
  got = c->get(a.id);
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == a);

  // Unknown and invalid ids.
  Asset ghost = make_asset("nosuchasset", "live", "x", 1);
  auto up2 = c->update(ghost);
  REQUIRE(up2);
  CHECK_FALSE(*up2);
  auto none = c->get("nosuchasset");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto bad_get = c->get("../etc");
  REQUIRE(bad_get);
  CHECK_FALSE(bad_get->has_value());
  Asset bad = make_asset("../x", "live", "x", 1);
  auto bad_insert = c->insert(bad);
  REQUIRE_FALSE(bad_insert);
  CHECK_THAT(bad_insert.message(), Catch::Contains("invalid asset id"));
  Asset huge = make_asset("huge", "live", "x", 1);
  huge.bytes = ~uint64_t(0);
  REQUIRE_FALSE(c->insert(huge));

  auto rm = c->remove(a.id);
  REQUIRE(rm);
  CHECK(*rm);
  rm = c->remove(a.id);
  REQUIRE(rm);
  CHECK_FALSE(*rm);
  got = c->get(a.id);
  REQUIRE(got);
  CHECK_FALSE(got->has_value());
  // Its tags went with it.
  AssetQuery q;
  q.tag = "archive";
  CHECK(list_ids(*c, q).empty());
}

TEST_CASE("catalogue: every list filter") {
  TempDir dir;
  auto c = open_ok(dir.file("c.sqlite3"));
  auto a1 = make_asset("a1", "live", "cam1", 1000);
  auto a2 = make_asset("a2", "live", "cam2", 2000);
  auto a3 = make_asset("a3", "news", "cam1", 3000);
  auto a4 = make_asset("a4", "live", "cam1", 4000);
  a1.state = AssetState::kFailed;
  a2.state = AssetState::kRecording;
  a1.tags = {"sport", "football"};
  a2.tags = {"sport"};
  a3.tags = {};
  a4.tags = {"Sport", "sports"};
  a1.title = "Cup Final, 2nd half";
  a2.title = "FINAL countdown";
  a3.title = "100% news_";
  a4.title = "";
  for (auto* a : {&a1, &a2, &a3, &a4}) REQUIRE(c->insert(*a));

  CHECK(list_ids(*c, {}) == Ids{"a4", "a3", "a2", "a1"});
  AssetQuery q;
  q.app = "live";
  CHECK(list_ids(*c, q) == Ids{"a4", "a2", "a1"});
  q = {};
  q.stream = "cam1";
  CHECK(list_ids(*c, q) == Ids{"a4", "a3", "a1"});
  q.app = "live";
  CHECK(list_ids(*c, q) == Ids{"a4", "a1"});
  q = {};
  q.state = AssetState::kRecording;
  CHECK(list_ids(*c, q) == Ids{"a2"});
  q.state = AssetState::kUploading;
  CHECK(list_ids(*c, q).empty());

  // Tags match exactly: not by case, not by prefix.
  q = {};
  q.tag = "sport";
  CHECK(list_ids(*c, q) == Ids{"a2", "a1"});
  q.tag = "Sport";
  CHECK(list_ids(*c, q) == Ids{"a4"});
  q.tag = "spor";
  CHECK(list_ids(*c, q).empty());

  // Title substring, case-insensitive (ASCII); '%' and '_' are literal.
  q = {};
  q.text = "final";
  CHECK(list_ids(*c, q) == Ids{"a2", "a1"});
  q.text = "2ND HALF";
  CHECK(list_ids(*c, q) == Ids{"a1"});
  q.text = "%";
  CHECK(list_ids(*c, q) == Ids{"a3"});
  q.text = "_";
  CHECK(list_ids(*c, q) == Ids{"a3"});
  q.text = "zzz";
  CHECK(list_ids(*c, q).empty());

  // Start time: from inclusive, to exclusive.
  q = {};
  q.started_from_ms = 2000;
  CHECK(list_ids(*c, q) == Ids{"a4", "a3", "a2"});
  q.started_to_ms = 4000;
  CHECK(list_ids(*c, q) == Ids{"a3", "a2"});
  q.started_from_ms.reset();
  CHECK(list_ids(*c, q) == Ids{"a3", "a2", "a1"});

  // Filters combine.
  q = {};
  q.app = "live";
  q.tag = "sport";
  q.state = AssetState::kFailed;
  q.text = "cup";
  CHECK(list_ids(*c, q) == Ids{"a1"});
}

TEST_CASE("catalogue: keyset paging walks every asset once, newest first") {
  TempDir dir;
  auto c = open_ok(dir.file("c.sqlite3"));
  // 53 assets, with runs of equal start times so that the id breaks ties.
  std::vector<std::string> expected;
  for (int i = 0; i < 53; ++i) {
    auto a = make_asset(fmt::format("x{:03}", i), i % 2 ? "live" : "tv", "s", 1000 + (i / 3) * 10);
    REQUIRE(c->insert(a));
  }
  for (int i = 52; i >= 0; --i) expected.push_back(fmt::format("x{:03}", i));

  for (int limit : {1, 7, 10, 53, 100}) {
    AssetQuery q;
    q.limit = limit;
    std::vector<std::string> walked;
    int pages = 0;
    for (;;) {
      auto page = c->list(q);
      REQUIRE(page);
      REQUIRE(page->items.size() <= size_t(limit));
      for (auto& a : page->items) walked.push_back(a.id);
      ++pages;
      if (page->next_cursor.empty()) break;
      CHECK(valid_asset_id(page->next_cursor) == false);  // opaque, not an id
      q.cursor = page->next_cursor;
      REQUIRE(pages < 100);
    }
    CHECK(walked == expected);
    CHECK(pages == (53 + limit - 1) / limit);
  }

  // Paging with a filter, with inserts and deletes between pages.
  AssetQuery q;
  q.app = "live";
  q.limit = 5;
  auto p1 = c->list(q);
  REQUIRE(p1);
  REQUIRE(p1->items.size() == 5);
  REQUIRE_FALSE(p1->next_cursor.empty());
  REQUIRE(c->insert(make_asset("newest", "live", "s", 999999)));  // before the cursor: not seen
  auto rm = c->remove(p1->items.front().id);                      // already seen
  REQUIRE(rm);
  std::vector<std::string> rest;
  q.cursor = p1->next_cursor;
  for (;;) {
    auto p = c->list(q);
    REQUIRE(p);
    for (auto& a : p->items) {
      CHECK(a.app == "live");
      rest.push_back(a.id);
    }
    if (p->next_cursor.empty()) break;
    q.cursor = p->next_cursor;
  }
  CHECK(rest.size() == 26 - 5);
  for (auto& a : p1->items) CHECK(std::find(rest.begin(), rest.end(), a.id) == rest.end());
}

TEST_CASE("catalogue: bad limits and cursors are refused") {
  TempDir dir;
  auto c = open_ok(dir.file("c.sqlite3"));
  AssetQuery q;
  for (int limit : {0, -1, kMaxListLimit + 1}) {
    q.limit = limit;
    auto r = c->list(q);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("limit"));
  }
  q.limit = 10;
  for (const std::string& bad : std::vector<std::string>{"x", "!!!!", "MTp4", "' OR 1=1 --", "MjoxMDAwOmEx", std::string(300, 'A'),
                          "MTphYmM6YTE" /* "1:abc:a1" */, "MToxMDAwOi4u" /* "1:1000:.." */}) {
    q.cursor = bad;
    auto r = c->list(q);
    INFO(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("cursor"));
  }
}

TEST_CASE("catalogue: injection attempts in filters are plain values") {
  TempDir dir;
  auto c = open_ok(dir.file("c.sqlite3"));
  REQUIRE(c->insert(make_asset("a1", "live", "cam1", 1000)));
  for (const std::string& evil : std::vector<std::string>{"' OR '1'='1", "live' --", "x'); DROP TABLE assets; --", "%", "\"", std::string("live\0x", 6)}) {
    AssetQuery q;
    q.app = evil;
    CHECK(list_ids(*c, q).empty());
    q = {};
    q.stream = evil;
    CHECK(list_ids(*c, q).empty());
    q = {};
    q.tag = evil;
    CHECK(list_ids(*c, q).empty());
    q = {};
    q.text = evil + "zz";
    CHECK(list_ids(*c, q).empty());
    auto g = c->get(evil);
    REQUIRE(g);
    CHECK_FALSE(g->has_value());
    auto total = c->total_bytes(evil, {AssetState::kReady});
    REQUIRE(total);
    CHECK(*total == 0);
  }
  // Stored values with quotes come back verbatim.
  auto a = make_asset("a2", "it's", "o'brien", 2000);
  a.title = "'; DROP TABLE assets; --";
  a.tags = {"x' OR '1'='1"};
  REQUIRE(c->insert(a));
  auto got = c->get("a2");
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == a);
  AssetQuery q;
  q.tag = "x' OR '1'='1";
  CHECK(list_ids(*c, q) == Ids{"a2"});
  CHECK(list_ids(*c, {}) == Ids{"a2", "a1"});
}

TEST_CASE("catalogue: recovery and retention queries") {
  TempDir dir;
  auto c = open_ok(dir.file("c.sqlite3"));
  auto mk = [&](const char* id, const char* app, AssetState s, int64_t t, uint64_t bytes) {
    auto a = make_asset(id, app, "s", t);
    a.state = s;
    a.bytes = bytes;
    REQUIRE(c->insert(a));
  };
  mk("r1", "live", AssetState::kRecording, 500, 10);
  mk("m1", "news", AssetState::kMerging, 400, 20);
  mk("d1", "live", AssetState::kReady, 300, 100);
  mk("d2", "live", AssetState::kReady, 100, 200);
  mk("u1", "live", AssetState::kUploaded, 200, 400);
  mk("f1", "live", AssetState::kFailed, 200, 800);
  mk("up", "live", AssetState::kUploading, 50, 1600);

  auto rec = c->in_states({AssetState::kRecording, AssetState::kMerging, AssetState::kUploading});
  REQUIRE(rec);
  CHECK(ids_of(*rec) == Ids{"up", "m1", "r1"});
  auto none = c->in_states({});
  REQUIRE(none);
  CHECK(none->empty());

  auto old = c->oldest_first("live", {AssetState::kReady, AssetState::kUploaded, AssetState::kFailed});
  REQUIRE(old);
  CHECK(ids_of(*old) == Ids{"d2", "f1", "u1", "d1"});  // f1/u1 tie on time: by id
  CHECK((*old)[0].tags == std::vector<std::string>{"news", "live"});

  auto total = c->total_bytes("live", {AssetState::kReady, AssetState::kUploaded});
  REQUIRE(total);
  CHECK(*total == 700);
  total = c->total_bytes("live", {AssetState::kRecording, AssetState::kMerging, AssetState::kReady,
                                  AssetState::kFailed, AssetState::kUploading, AssetState::kUploaded});
  REQUIRE(total);
  CHECK(*total == 3110);
  total = c->total_bytes("nosuchapp", {AssetState::kReady});
  REQUIRE(total);
  CHECK(*total == 0);
}

TEST_CASE("catalogue: reopening keeps the data and the schema version") {
  TempDir dir;
  std::string path = dir.file("c.sqlite3");
  auto a = make_asset("keep", "live", "cam", 42);
  {
    auto c = open_ok(path);
    REQUIRE(c->insert(a));
  }
  CHECK(user_version(path) == Catalogue::schema_version());
  auto c = open_ok(path);
  auto got = c->get("keep");
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == a);
  // A second connection to the same file (another process) sees it too.
  auto c2 = open_ok(path);
  auto got2 = c2->get("keep");
  REQUIRE(got2);
  CHECK(got2->has_value());
}

TEST_CASE("catalogue: an empty version-0 file is migrated") {
  TempDir dir;
  std::string path = dir.file("old.sqlite3");
  { std::ofstream f(path); }  // zero bytes: SQLite treats it as an empty database
  REQUIRE(fs::file_size(path) == 0);
  {
    // And a version-0 database with an unrelated table of its own.
    auto other = dir.file("v0.sqlite3");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE notes (x TEXT)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    REQUIRE(user_version(other) == 0);
    auto c = open_ok(other);
    REQUIRE(c->insert(make_asset("z1", "live", "s", 1)));
    CHECK(user_version(other) == Catalogue::schema_version());
  }
  auto c = open_ok(path);
  CHECK(user_version(path) == Catalogue::schema_version());
  REQUIRE(c->insert(make_asset("a1", "live", "s", 1)));
  auto got = c->get("a1");
  REQUIRE(got);
  CHECK(got->has_value());
}

TEST_CASE("catalogue: unopenable, foreign and newer files give clear errors") {
  TempDir dir;
  auto missing = Catalogue::open(dir.file("no/such/dir/c.sqlite3"));
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error(), Catch::Contains("cannot open"));
  CHECK_THAT(missing.error(), Catch::Contains("no/such/dir/c.sqlite3"));
  CHECK_THAT(missing.error(), Catch::Contains("unable to open database file"));

  auto garbage = dir.file("garbage.sqlite3");
  {
    std::ofstream f(garbage, std::ios::binary);
    f << std::string(8192, 'G');
  }
  auto g = Catalogue::open(garbage);
  REQUIRE_FALSE(g);
  CHECK_THAT(g.error(), Catch::Contains("not a database"));
  CHECK_THAT(g.error(), Catch::Contains("garbage.sqlite3"));

  auto newer = dir.file("newer.sqlite3");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(newer.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto n = Catalogue::open(newer);
  REQUIRE_FALSE(n);
  CHECK_THAT(n.error(), Catch::Contains("newer"));

  if (geteuid() != 0) {  // root ignores permissions
    auto ro = dir.path / "ro";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    auto r = Catalogue::open((ro / "c.sqlite3").string());
    CHECK_FALSE(r);
    fs::permissions(ro, fs::perms::owner_all);
  }
}

TEST_CASE("catalogue: thumbnails belong to an asset, page oldest first and go with it") {
  TempDir dir;
  auto c = open_ok(dir.file("c.sqlite3"));
  REQUIRE(c->insert(make_asset("a1", "live", "cam1", 1000)));
  REQUIRE(c->insert(make_asset("a2", "live", "cam2", 1000)));
  for (int i = 0; i < 5; ++i) {
    Thumbnail t;
    t.asset_id = "a1";
    t.at_ms = 2000 + i * 1000;
    t.offset_ms = t.at_ms - 1000;
    t.file = fmt::format("thumbs/{}.jpg", t.at_ms);
    t.width = 640;
    t.height = 360;
    t.bytes = 1000 + i;
    auto r = c->add_thumbnail(t);
    REQUIRE(r);
    CHECK(*r);
  }
  Thumbnail dup;
  dup.asset_id = "a1";
  dup.at_ms = 2000;
  CHECK_FALSE(c->add_thumbnail(dup));  // (asset, at_ms) is unique
  Thumbnail ghost;
  ghost.asset_id = "nosuchasset";
  auto g = c->add_thumbnail(ghost);
  REQUIRE(g);
  CHECK_FALSE(*g);  // no asset: nothing written
  ghost.asset_id = "../x";
  CHECK_FALSE(*c->add_thumbnail(ghost));

  // Two pages of 3 and 2, oldest first, nothing repeated or skipped.
  std::vector<int64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto p = c->thumbnails("a1", 3, cursor);
    REQUIRE(p);
    for (auto& t : p->items) {
      CHECK(t.asset_id == "a1");
      CHECK(t.file == fmt::format("thumbs/{}.jpg", t.at_ms));
      CHECK(t.offset_ms == t.at_ms - 1000);
      CHECK(t.width == 640);
      seen.push_back(t.at_ms);
    }
    cursor = p->next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(pages == 2);
  CHECK(seen == std::vector<int64_t>{2000, 3000, 4000, 5000, 6000});
  CHECK(c->thumbnails("a2", 10, "")->items.empty());
  CHECK(c->thumbnails("nosuchasset", 10, "")->items.empty());
  for (const std::string& bad : std::vector<std::string>{"x", "' OR 1=1 --", "dDp4" /* "t:x" */, "MTphYmM6YTE"}) {
    auto r = c->thumbnails("a1", 10, bad);
    INFO(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("cursor"));
  }
  CHECK_FALSE(c->thumbnails("a1", 0, ""));
  CHECK_FALSE(c->thumbnails("a1", kMaxListLimit + 1, ""));

  // Removing the asset removes its thumbnails' rows; an asset inserted again
  // with the same id starts with none.
  REQUIRE(*c->remove("a1"));
  REQUIRE(c->insert(make_asset("a1", "live", "cam1", 1000)));
  CHECK(c->thumbnails("a1", 10, "")->items.empty());
}
