#include "record/catalogue.h"

#include <sqlite3.h>

#include <charconv>
#include <limits>
#include <variant>

#include <nlohmann/json.hpp>

#include "record/asset_id.h"

namespace weir::record {

namespace {

// ---------------------------------------------------------------------------
// Schema. Version N is reached by applying kMigrations[0..N-1] in order, each
// in one transaction that also sets PRAGMA user_version. To change the schema,
// append a function; never edit one that has shipped.

constexpr const char* kMigration1 = R"sql(
CREATE TABLE assets (
  id            TEXT PRIMARY KEY NOT NULL,
  app           TEXT NOT NULL,
  stream        TEXT NOT NULL,
  state         TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  ended_at_ms   INTEGER NOT NULL,
  duration_s    REAL NOT NULL,
  bytes         INTEGER NOT NULL,
  video_codec   TEXT NOT NULL,
  audio_codec   TEXT NOT NULL,
  width         INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  dir           TEXT NOT NULL,
  mp4           TEXT NOT NULL,
  playlist      TEXT NOT NULL,
  cover         TEXT NOT NULL,
  segments      TEXT NOT NULL,  -- JSON array of file names
  gaps          INTEGER NOT NULL,
  error         TEXT NOT NULL,
  title         TEXT NOT NULL,
  description   TEXT NOT NULL,
  remote        TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX assets_by_start ON assets (started_at_ms, id);
CREATE INDEX assets_by_app_start ON assets (app, started_at_ms, id);
CREATE INDEX assets_by_state ON assets (state);
-- Tags in a child table so that a tag filter is an index lookup.
CREATE TABLE asset_tags (
  asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  pos      INTEGER NOT NULL,
  tag      TEXT NOT NULL,
  PRIMARY KEY (asset_id, pos)
);
CREATE INDEX asset_tags_by_tag ON asset_tags (tag, asset_id);
)sql";

core::Status exec(sqlite3* db, const char* sql, std::string_view what) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    auto st = core::Status::errorf("catalogue: {}: {}", what, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return st;
  }
  return {};
}

// Version 2: pictures taken while an asset recorded (periodic snapshots).
constexpr const char* kMigration2 = R"sql(
CREATE TABLE asset_thumbnails (
  asset_id  TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  at_ms     INTEGER NOT NULL,
  offset_ms INTEGER NOT NULL,
  file      TEXT NOT NULL,
  width     INTEGER NOT NULL,
  height    INTEGER NOT NULL,
  bytes     INTEGER NOT NULL,
  PRIMARY KEY (asset_id, at_ms)
);
)sql";

core::Status migrate_1(sqlite3* db) { return exec(db, kMigration1, "migration 1"); }
core::Status migrate_2(sqlite3* db) { return exec(db, kMigration2, "migration 2"); }

using Migration = core::Status (*)(sqlite3*);
constexpr Migration kMigrations[] = {migrate_1, migrate_2};
constexpr int kSchemaVersion = int(std::size(kMigrations));

// ---------------------------------------------------------------------------
// Statements and parameters.

core::Status db_error(sqlite3* db, std::string_view what) {
  return core::Status::errorf("catalogue: {}: {}", what, sqlite3_errmsg(db));
}

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// A bound value. Strings are copied by SQLite (SQLITE_TRANSIENT).
using Param = std::variant<int64_t, double, std::string>;

core::Result<Stmt> prepare(sqlite3* db, const std::string& sql, const std::vector<Param>& params,
                           std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), int(sql.size()), &raw, nullptr) != SQLITE_OK) return db_error(db, what);
  Stmt st(raw);
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = int(i) + 1;
    int rc;
    if (auto* v = std::get_if<int64_t>(&params[i]))
      rc = sqlite3_bind_int64(raw, idx, *v);
    else if (auto* d = std::get_if<double>(&params[i]))
      rc = sqlite3_bind_double(raw, idx, *d);
    else {
      const auto& s = std::get<std::string>(params[i]);
      rc = sqlite3_bind_text64(raw, idx, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) return db_error(db, what);
  }
  return st;
}

// Runs a statement that returns no rows.
core::Status run(sqlite3* db, const std::string& sql, const std::vector<Param>& params, std::string_view what) {
  auto st = prepare(db, sql, params, what);
  if (!st) return st.status();
  if (sqlite3_step(st->get()) != SQLITE_DONE) return db_error(db, what);
  return {};
}

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) (void)exec(db_, "ROLLBACK", "rollback");  // nothing more to do if even this fails
  }
  core::Status begin() {
    auto st = exec(db_, "BEGIN IMMEDIATE", "begin");
    open_ = st.is_ok();
    return st;
  }
  core::Status commit() {
    auto st = exec(db_, "COMMIT", "commit");
    if (st) open_ = false;
    return st;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

std::string column_text(sqlite3_stmt* st, int col) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string(p, size_t(sqlite3_column_bytes(st, col))) : std::string();
}

// ---------------------------------------------------------------------------
// Asset <-> row. kColumns and params_of/read_row list the columns in the same
// order; id is first so that UPDATE can bind it last.

constexpr const char* kColumnNames[] = {
    "id",    "app",      "stream", "state",    "started_at_ms", "ended_at_ms", "duration_s", "bytes",
    "video_codec", "audio_codec", "width", "height", "dir",      "mp4",         "playlist",   "cover",
    "segments", "gaps",  "error",  "title",    "description",   "remote",      "created_at_ms", "updated_at_ms"};
constexpr int kColumnCount = int(std::size(kColumnNames));

std::string column_list() {
  std::string s;
  for (const char* c : kColumnNames) {
    if (!s.empty()) s += ", ";
    s += c;
  }
  return s;
}

std::string placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

std::vector<Param> params_of(const Asset& a) {
  return {a.id,
          a.app,
          a.stream,
          std::string(to_string(a.state)),
          a.started_at_ms,
          a.ended_at_ms,
          a.duration_s,
          int64_t(a.bytes),
          a.video_codec,
          a.audio_codec,
          int64_t(a.width),
          int64_t(a.height),
          a.dir,
          a.mp4,
          a.playlist,
          a.cover,
          nlohmann::json(a.segments).dump(),
          int64_t(a.gaps),
          a.error,
          a.title,
          a.description,
          a.remote,
          a.created_at_ms,
          a.updated_at_ms};
}

core::Result<Asset> read_row(sqlite3_stmt* st) {
  Asset a;
  int c = 0;
  a.id = column_text(st, c++);
  a.app = column_text(st, c++);
  a.stream = column_text(st, c++);
  std::string state = column_text(st, c++);
  auto s = asset_state_from_string(state);
  if (!s) return core::Status::errorf("catalogue: asset {} has an unknown state '{}'", a.id, state);
  a.state = *s;
  a.started_at_ms = sqlite3_column_int64(st, c++);
  a.ended_at_ms = sqlite3_column_int64(st, c++);
  a.duration_s = sqlite3_column_double(st, c++);
  int64_t bytes = sqlite3_column_int64(st, c++);
  a.bytes = bytes < 0 ? 0 : uint64_t(bytes);
  a.video_codec = column_text(st, c++);
  a.audio_codec = column_text(st, c++);
  a.width = sqlite3_column_int(st, c++);
  a.height = sqlite3_column_int(st, c++);
  a.dir = column_text(st, c++);
  a.mp4 = column_text(st, c++);
  a.playlist = column_text(st, c++);
  a.cover = column_text(st, c++);
  std::string segments = column_text(st, c++);
  auto j = nlohmann::json::parse(segments, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return core::Status::errorf("catalogue: asset {} has a malformed segment list", a.id);
  for (const auto& e : j) {
    if (!e.is_string()) return core::Status::errorf("catalogue: asset {} has a malformed segment list", a.id);
    a.segments.push_back(e.get<std::string>());
  }
  a.gaps = sqlite3_column_int(st, c++);
  a.error = column_text(st, c++);
  a.title = column_text(st, c++);
  a.description = column_text(st, c++);
  a.remote = column_text(st, c++);
  a.created_at_ms = sqlite3_column_int64(st, c++);
  a.updated_at_ms = sqlite3_column_int64(st, c++);
  return a;
}

core::Status check_writable(const Asset& a) {
  if (!valid_asset_id(a.id)) return core::Status::errorf("catalogue: invalid asset id '{}'", a.id);
  if (a.bytes > uint64_t(std::numeric_limits<int64_t>::max()))
    return core::Status::errorf("catalogue: asset {}: bytes {} out of range", a.id, a.bytes);
  return {};
}

core::Status write_tags(sqlite3* db, const Asset& a) {
  if (auto st = run(db, "DELETE FROM asset_tags WHERE asset_id = ?", {a.id}, "delete tags"); !st) return st;
  for (size_t i = 0; i < a.tags.size(); ++i)
    if (auto st = run(db, "INSERT INTO asset_tags (asset_id, pos, tag) VALUES (?, ?, ?)", {a.id, int64_t(i), a.tags[i]},
                      "insert tag");
        !st)
      return st;
  return {};
}

core::Status read_tags(sqlite3* db, Asset& a) {
  auto st = prepare(db, "SELECT tag FROM asset_tags WHERE asset_id = ? ORDER BY pos", {a.id}, "read tags");
  if (!st) return st.status();
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) a.tags.push_back(column_text(st->get(), 0));
  if (rc != SQLITE_DONE) return db_error(db, "read tags");
  return {};
}

// SELECT <columns> FROM assets <tail>, with the tags of each row.
core::Result<std::vector<Asset>> select_assets(sqlite3* db, const std::string& tail, const std::vector<Param>& params,
                                               std::string_view what) {
  auto st = prepare(db, "SELECT " + column_list() + " FROM assets " + tail, params, what);
  if (!st) return st.status();
  std::vector<Asset> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    auto a = read_row(st->get());
    if (!a) return a.status();
    out.push_back(std::move(*a));
  }
  if (rc != SQLITE_DONE) return db_error(db, what);
  for (auto& a : out)
    if (auto s = read_tags(db, a); !s) return s;
  return out;
}

// " AND state IN (?,?)" and its parameters.
std::string state_filter(const std::vector<AssetState>& states, std::vector<Param>& params) {
  for (auto s : states) params.emplace_back(std::string(to_string(s)));
  return " AND state IN (" + placeholders(states.size()) + ")";
}

// ---------------------------------------------------------------------------
// Cursors: base64url (no padding) of "1:<started_at_ms>:<id>". The leading
// version lets the format change without misreading old cursors.

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kMaxCursorLength = 128;

std::string b64url_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kB64[(v >> k) & 63];
  }
  size_t rest = in.size() - i;
  if (rest) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | (rest == 2 ? uint32_t(uint8_t(in[i + 1])) << 8 : 0);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    if (rest == 2) out += kB64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> b64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c ? std::char_traits<char>::find(kB64, 64, c) : nullptr;
    if (!p) return std::nullopt;
    acc = (acc << 6) | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string encode_cursor(const Asset& last) {
  return b64url_encode("1:" + std::to_string(last.started_at_ms) + ":" + last.id);
}

struct CursorPos {
  int64_t started_at_ms;
  std::string id;
};

std::optional<CursorPos> decode_cursor(std::string_view cursor) {
  if (cursor.size() > kMaxCursorLength) return std::nullopt;
  auto raw = b64url_decode(cursor);
  if (!raw || raw->size() < 2 || raw->compare(0, 2, "1:") != 0) return std::nullopt;
  std::string_view rest = std::string_view(*raw).substr(2);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  CursorPos pos{};
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + colon, pos.started_at_ms);
  if (ec != std::errc() || end != rest.data() + colon) return std::nullopt;
  pos.id = std::string(rest.substr(colon + 1));
  if (!valid_asset_id(pos.id)) return std::nullopt;
  return pos;
}

}  // namespace

// ---------------------------------------------------------------------------

core::Result<std::unique_ptr<Catalogue>> Catalogue::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    auto st = core::Status::errorf("catalogue: cannot open {}: {}", path,
                                   raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    sqlite3_close(raw);  // a handle is returned even on failure (or null: a no-op)
    return st;
  }
  std::unique_ptr<Catalogue> cat(new Catalogue(raw));
  sqlite3* db = cat->db_;
  auto fail = [&](const core::Status& st) { return core::Status::errorf("{} ({})", st.message(), path); };
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);

  // WAL: readers (another process, a backup) do not block the writer. The
  // pragma answers the mode now in force; "memory" for in-memory databases.
  {
    auto st = prepare(db, "PRAGMA journal_mode=WAL", {}, "set WAL mode");
    if (!st) return fail(st.status());
    if (sqlite3_step(st->get()) != SQLITE_ROW) return fail(db_error(db, "set WAL mode"));
    std::string mode = column_text(st->get(), 0);
    if (mode != "wal" && mode != "memory")
      return fail(core::Status::errorf("catalogue: journal mode is '{}', not wal", mode));
  }
  if (auto st = exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", "pragmas"); !st) return fail(st);

  // Migrations, one transaction each. The version is read inside the
  // transaction so that two processes opening one file at once apply each
  // migration once.
  for (;;) {
    Transaction tx(db);
    if (auto st = tx.begin(); !st) return fail(st);
    auto v = prepare(db, "PRAGMA user_version", {}, "read schema version");
    if (!v) return fail(v.status());
    if (sqlite3_step(v->get()) != SQLITE_ROW) return fail(db_error(db, "read schema version"));
    int version = sqlite3_column_int(v->get(), 0);
    v->reset();
    if (version > kSchemaVersion)
      return fail(core::Status::errorf("catalogue: schema version {} is newer than this build's {}", version,
                                       kSchemaVersion));
    if (version < 0) return fail(core::Status::errorf("catalogue: bad schema version {}", version));
    if (version == kSchemaVersion) {
      if (auto st = tx.commit(); !st) return fail(st);
      break;
    }
    if (auto st = kMigrations[version](db); !st) return fail(st);
    // PRAGMA takes no bound parameters; the value is our own integer.
    std::string set_version = "PRAGMA user_version = " + std::to_string(version + 1);
    if (auto st = exec(db, set_version.c_str(), "set schema version"); !st) return fail(st);
    if (auto st = tx.commit(); !st) return fail(st);
  }
  return cat;
}

Catalogue::Catalogue(sqlite3* db) : db_(db) {}

Catalogue::~Catalogue() { sqlite3_close_v2(db_); }

int Catalogue::schema_version() { return kSchemaVersion; }

core::Status Catalogue::insert(const Asset& a) {
  if (auto st = check_writable(a); !st) return st;
  Transaction tx(db_);
  if (auto st = tx.begin(); !st) return st;
  std::string sql = "INSERT INTO assets (" + column_list() + ") VALUES (" + placeholders(kColumnCount) + ")";
  if (auto st = run(db_, sql, params_of(a), "insert " + a.id); !st) return st;
  if (auto st = write_tags(db_, a); !st) return st;
  return tx.commit();
}

core::Result<bool> Catalogue::update(const Asset& a) {
  if (auto st = check_writable(a); !st) return st;
  Transaction tx(db_);
  if (auto st = tx.begin(); !st) return st;
  std::string sql = "UPDATE assets SET ";
  for (int i = 1; i < kColumnCount; ++i) {
    if (i > 1) sql += ", ";
    sql += kColumnNames[i];
    sql += " = ?";
  }
  sql += " WHERE id = ?";
  auto params = params_of(a);
  params.push_back(params.front());  // id, moved from first to last
  params.erase(params.begin());
  if (auto st = run(db_, sql, params, "update " + a.id); !st) return st;
  if (sqlite3_changes(db_) == 0) return false;  // the transaction rolls back (nothing written)
  if (auto st = write_tags(db_, a); !st) return st;
  if (auto st = tx.commit(); !st) return st;
  return true;
}

core::Result<std::optional<Asset>> Catalogue::get(std::string_view id) {
  if (!valid_asset_id(id)) return std::optional<Asset>();
  auto rows = select_assets(db_, "WHERE id = ?", {std::string(id)}, "get");
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<Asset>();
  return std::optional<Asset>(std::move(rows->front()));
}

core::Result<bool> Catalogue::remove(std::string_view id) {
  if (!valid_asset_id(id)) return false;
  Transaction tx(db_);
  if (auto st = tx.begin(); !st) return st;
  std::string key(id);
  if (auto st = run(db_, "DELETE FROM asset_tags WHERE asset_id = ?", {key}, "remove tags"); !st) return st;
  if (auto st = run(db_, "DELETE FROM asset_thumbnails WHERE asset_id = ?", {key}, "remove thumbnails"); !st) return st;
  if (auto st = run(db_, "DELETE FROM assets WHERE id = ?", {key}, "remove"); !st) return st;
  bool removed = sqlite3_changes(db_) > 0;
  if (auto st = tx.commit(); !st) return st;
  return removed;
}

core::Result<AssetPage> Catalogue::list(const AssetQuery& q) {
  if (q.limit < 1 || q.limit > kMaxListLimit)
    return core::Status::errorf("catalogue: limit {} is outside 1..{}", q.limit, kMaxListLimit);
  std::string tail = "WHERE 1";
  std::vector<Param> params;
  if (!q.app.empty()) {
    tail += " AND app = ?";
    params.emplace_back(q.app);
  }
  if (!q.stream.empty()) {
    tail += " AND stream = ?";
    params.emplace_back(q.stream);
  }
  if (q.state) {
    tail += " AND state = ?";
    params.emplace_back(std::string(to_string(*q.state)));
  }
  if (!q.tag.empty()) {
    tail += " AND id IN (SELECT asset_id FROM asset_tags WHERE tag = ?)";
    params.emplace_back(q.tag);
  }
  if (!q.text.empty()) {
    // instr, not LIKE: '%' and '_' in the text are plain characters.
    tail += " AND instr(lower(title), lower(?)) > 0";
    params.emplace_back(q.text);
  }
  if (q.started_from_ms) {
    tail += " AND started_at_ms >= ?";
    params.emplace_back(*q.started_from_ms);
  }
  if (q.started_to_ms) {
    tail += " AND started_at_ms < ?";
    params.emplace_back(*q.started_to_ms);
  }
  if (!q.cursor.empty()) {
    auto pos = decode_cursor(q.cursor);
    if (!pos) return core::Status::error("catalogue: invalid cursor");
    tail += " AND (started_at_ms, id) < (?, ?)";
    params.emplace_back(pos->started_at_ms);
    params.emplace_back(std::move(pos->id));
  }
  // One row more than asked tells whether there is a next page.
  tail += " ORDER BY started_at_ms DESC, id DESC LIMIT ?";
  params.emplace_back(int64_t(q.limit) + 1);
  auto rows = select_assets(db_, tail, params, "list");
  if (!rows) return rows.status();
  AssetPage page;
  page.items = std::move(*rows);
  if (page.items.size() > size_t(q.limit)) {
    page.items.resize(size_t(q.limit));
    page.next_cursor = encode_cursor(page.items.back());
  }
  return page;
}

core::Result<bool> Catalogue::add_thumbnail(const Thumbnail& t) {
  if (!valid_asset_id(t.asset_id)) return false;
  if (t.bytes > uint64_t(INT64_MAX)) return core::Status::error("catalogue: add_thumbnail: bytes out of range");
  // One statement: the row goes in only if its asset exists.
  auto st = run(db_,
                "INSERT INTO asset_thumbnails (asset_id, at_ms, offset_ms, file, width, height, bytes) "
                "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM assets WHERE id = ?)",
                {t.asset_id, t.at_ms, t.offset_ms, t.file, int64_t(t.width), int64_t(t.height), int64_t(t.bytes),
                 t.asset_id},
                "add_thumbnail");
  if (!st) return st;
  return sqlite3_changes(db_) > 0;
}

core::Result<ThumbnailPage> Catalogue::thumbnails(std::string_view id, int limit, std::string_view cursor) {
  if (limit < 1 || limit > kMaxListLimit)
    return core::Status::errorf("catalogue: limit {} is outside 1..{}", limit, kMaxListLimit);
  int64_t after = INT64_MIN;
  if (!cursor.empty()) {
    auto raw = b64url_decode(cursor);
    int64_t v = 0;
    if (!raw || raw->size() < 3 || raw->compare(0, 2, "t:") != 0 ||
        std::from_chars(raw->data() + 2, raw->data() + raw->size(), v).ptr != raw->data() + raw->size())
      return core::Status::error("catalogue: invalid cursor");
    after = v;
  }
  ThumbnailPage page;
  if (!valid_asset_id(id)) return page;
  auto st = prepare(db_,
                    "SELECT at_ms, offset_ms, file, width, height, bytes FROM asset_thumbnails "
                    "WHERE asset_id = ? AND at_ms > ? ORDER BY at_ms LIMIT ?",
                    {std::string(id), after, int64_t(limit) + 1}, "thumbnails");
  if (!st) return st.status();
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    Thumbnail t;
    t.asset_id = std::string(id);
    t.at_ms = sqlite3_column_int64(st->get(), 0);
    t.offset_ms = sqlite3_column_int64(st->get(), 1);
    t.file = column_text(st->get(), 2);
    t.width = int(sqlite3_column_int64(st->get(), 3));
    t.height = int(sqlite3_column_int64(st->get(), 4));
    int64_t b = sqlite3_column_int64(st->get(), 5);
    t.bytes = uint64_t(b < 0 ? 0 : b);
    page.items.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return db_error(db_, "thumbnails");
  if (page.items.size() > size_t(limit)) {
    page.items.resize(size_t(limit));
    page.next_cursor = b64url_encode("t:" + std::to_string(page.items.back().at_ms));
  }
  return page;
}

core::Result<std::vector<Asset>> Catalogue::in_states(const std::vector<AssetState>& states) {
  if (states.empty()) return std::vector<Asset>();
  std::vector<Param> params;
  std::string tail = "WHERE 1" + state_filter(states, params) + " ORDER BY started_at_ms, id";
  return select_assets(db_, tail, params, "in_states");
}

core::Result<std::vector<Asset>> Catalogue::oldest_first(std::string_view app, const std::vector<AssetState>& states) {
  if (states.empty()) return std::vector<Asset>();
  std::vector<Param> params{std::string(app)};
  std::string tail = "WHERE app = ?" + state_filter(states, params) + " ORDER BY started_at_ms, id";
  return select_assets(db_, tail, params, "oldest_first");
}

core::Result<uint64_t> Catalogue::total_bytes(std::string_view app, const std::vector<AssetState>& states) {
  if (states.empty()) return uint64_t(0);
  std::vector<Param> params{std::string(app)};
  std::string sql = "SELECT COALESCE(SUM(bytes), 0) FROM assets WHERE app = ?" + state_filter(states, params);
  auto st = prepare(db_, sql, params, "total_bytes");
  if (!st) return st.status();
  if (sqlite3_step(st->get()) != SQLITE_ROW) return db_error(db_, "total_bytes");
  int64_t sum = sqlite3_column_int64(st->get(), 0);
  return uint64_t(sum < 0 ? 0 : sum);
}

}  // namespace weir::record
