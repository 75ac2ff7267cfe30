// Catalogue: the asset catalogue, one SQLite file (normally
// <storage.root>/catalogue.sqlite3). Holds every Asset's record; the files
// themselves live in Asset::dir.
//
// Threads: NOT thread-safe. One owner at a time - the recorder runs every call
// on one WorkerPool strand (calls block on disk I/O, never on an event loop).
// The connection is opened in SQLite's multi-thread mode, so moving the
// object between threads between calls (a strand does) is fine; two calls at
// once are not. Another process (or a second Catalogue on the same file) may
// use the file: WAL mode, and a busy connection waits up to kBusyTimeoutMs.
//
// Schema: versioned with PRAGMA user_version; open() applies the missing
// migrations in order, each in its own transaction (see catalogue.cpp: a new
// schema version is one function appended to kMigrations). A file from a
// newer Weir (a version this build does not know) is refused.
//
// Errors: every failing call returns a Status whose message names the
// operation and carries sqlite3_errmsg. Values are always bound parameters;
// no value is ever spliced into SQL text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "record/asset.h"

struct sqlite3;

namespace weir::record {

inline constexpr int kBusyTimeoutMs = 5000;
inline constexpr int kMaxListLimit = 1000;

// Filters of Catalogue::list; an empty/unset field does not filter. All set
// filters must match (AND).
struct AssetQuery {
  std::string app;                  // exact
  std::string stream;               // exact
  std::optional<AssetState> state;  // exact
  std::string tag;                  // one of the asset's tags, exactly
  std::string text;                 // substring of the title; ASCII letters case-insensitive
  std::optional<int64_t> started_from_ms;  // started_at_ms >= this
  std::optional<int64_t> started_to_ms;    // started_at_ms <  this
  int limit = 50;      // 1..kMaxListLimit, else list() fails
  std::string cursor;  // empty = first page; else a next_cursor of the same query
};

struct AssetPage {
  std::vector<Asset> items;  // newest first: started_at_ms desc, then id desc
  std::string next_cursor;   // empty when there is nothing after items
};

// A picture of a recording (a periodic snapshot taken while it recorded):
// the file is <asset dir>/<file>, "thumbs/<at_ms>.<jpg|png>".
struct Thumbnail {
  std::string asset_id;
  int64_t at_ms = 0;      // wall clock when it was taken (unique per asset)
  int64_t offset_ms = 0;  // at_ms - the asset's started_at_ms
  std::string file;
  int width = 0;
  int height = 0;
  uint64_t bytes = 0;
};

struct ThumbnailPage {
  std::vector<Thumbnail> items;  // oldest first (at_ms)
  std::string next_cursor;       // empty when there is nothing after items
};

class Catalogue {
 public:
  // Opens (creating if needed) the catalogue at `path` and brings its schema
  // to the current version. Errors: the file cannot be opened or created, is
  // not a SQLite database, has a newer schema, or a migration failed (the
  // failed migration is rolled back; earlier ones stay applied).
  static core::Result<std::unique_ptr<Catalogue>> open(const std::string& path);
  ~Catalogue();
  Catalogue(const Catalogue&) = delete;
  Catalogue& operator=(const Catalogue&) = delete;

  // The schema version this build writes (number of migrations).
  static int schema_version();

  // Adds `a`. Errors: an invalid id (valid_asset_id), an id already present,
  // bytes > INT64_MAX, a database error. Stores the times as given.
  core::Status insert(const Asset& a);
  // Replaces the whole record with id a.id (tags and segments too).
  // false: no such asset (nothing written).
  core::Result<bool> update(const Asset& a);
  // nullopt: no such asset (an invalid id is simply not found).
  core::Result<std::optional<Asset>> get(std::string_view id);
  // false: no such asset. Removes the record (and its thumbnails' rows) only,
  // not the files.
  core::Result<bool> remove(std::string_view id);

  // Adds a thumbnail to its asset. false: no such asset (nothing written).
  // Errors: a row with the same (asset_id, at_ms), bytes > INT64_MAX, a
  // database error.
  core::Result<bool> add_thumbnail(const Thumbnail& t);
  // One page of an asset's thumbnails, oldest first (keyset paging on at_ms).
  // An unknown asset has none. Errors: limit outside 1..kMaxListLimit, a
  // cursor that is not one of ours, a database error.
  core::Result<ThumbnailPage> thumbnails(std::string_view id, int limit, std::string_view cursor);

  // One page of assets matching `q`, newest first, by keyset paging on
  // (started_at_ms, id): pages never repeat or skip an asset that was present
  // for the whole walk, even when others are added or removed meanwhile.
  // Errors: limit outside 1..kMaxListLimit, a cursor that is not one of ours
  // (the API answers 400 for both), a database error.
  core::Result<AssetPage> list(const AssetQuery& q);

  // Every asset in one of `states`, any app, oldest first (started_at_ms,
  // id): start-up recovery of recording/merging/uploading assets.
  core::Result<std::vector<Asset>> in_states(const std::vector<AssetState>& states);
  // The assets of `app` in one of `states`, oldest first: retention's input.
  core::Result<std::vector<Asset>> oldest_first(std::string_view app, const std::vector<AssetState>& states);
  // Sum of bytes of the assets of `app` in one of `states`.
  core::Result<uint64_t> total_bytes(std::string_view app, const std::vector<AssetState>& states);

 private:
  explicit Catalogue(sqlite3* db);

  sqlite3* db_;  // owned; closed by the destructor
};

}  // namespace weir::record
