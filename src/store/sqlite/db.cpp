#include "store/sqlite/db.hpp"

#include <fmt/format.h>

namespace valija::store::sqlite {
namespace {

// The error for result code `rc`: busy and locked are temporary, a full disk is NoSpace
// (said in the words the file stores use, so a log search for the cause finds both).
Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  Errc code = Errc::Internal;
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = Errc::Temporary;
  else if (primary == SQLITE_FULL) code = Errc::NoSpace;
  else if (primary == SQLITE_IOERR) code = Errc::Unavailable;
  else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = Errc::Corrupt;
  else if (primary == SQLITE_CONSTRAINT) code = Errc::Exists;
  std::string detail = fmt::format("{}: {}", what, sqlite3_errmsg(db));
  if (code == Errc::NoSpace) detail += " (No space left on device)";
  return Error{code, std::move(detail)};
}

}  // namespace

Result<Db> Db::open(const std::string& path) {
  Db db;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    return fail(Errc::Unavailable, fmt::format("cannot open {}: {}", path, msg));
  }
  sqlite3_extended_result_codes(db.db_, 1);
  // Other processes (the admin CLI) write too; wait for their short transactions.
  sqlite3_busy_timeout(db.db_, 10000);
  return db;
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    finalize_cache();
    if (db_) sqlite3_close_v2(db_);
    db_ = o.db_;
    cache_ = std::move(o.cache_);
    depth_ = o.depth_;
    o.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  finalize_cache();
  if (db_) sqlite3_close_v2(db_);
}

void Db::finalize_cache() {
  for (auto& [sql, st] : cache_) sqlite3_finalize(st);
  cache_.clear();
}

Result<Stmt> Db::cached(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) return Stmt(db_, it->second, false);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
      SQLITE_OK)
    return tl::unexpected(error("sqlite prepare"));
  cache_.emplace(std::string(sql), s);
  return Stmt(db_, s, false);
}

Error Db::error(std::string_view what) const { return sqlite_error(db_, sqlite3_errcode(db_), what); }

Result<void> Db::exec(std::string_view sql) {
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return tl::unexpected(error("sqlite"));
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    return tl::unexpected(error("sqlite prepare"));
  return Stmt(db_, s);
}

Stmt::~Stmt() {
  if (!s_) return;
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_blob(int i, std::string_view v) {
  sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(sqlite_error(db_, rc, "sqlite"));
}

Result<void> Stmt::run() {
  while (true) {
    auto r = step();
    if (!r) return tl::unexpected(r.error());
    if (!*r) return {};
  }
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::string Stmt::str(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

Result<Tx> Tx::begin(Db& db) {
  bool nested = db.depth_ > 0;
  auto r = db.exec(nested ? "SAVEPOINT nested_tx" : "BEGIN IMMEDIATE");
  if (!r) return tl::unexpected(r.error());
  ++db.depth_;
  return Tx(&db, nested);
}

Tx::~Tx() {
  if (!db_) return;
  if (nested_) {
    (void)db_->exec("ROLLBACK TO nested_tx");
    (void)db_->exec("RELEASE nested_tx");
  } else {
    (void)db_->exec("ROLLBACK");
  }
  --db_->depth_;
}

Result<void> Tx::commit() {
  auto r = db_->exec(nested_ ? "RELEASE nested_tx" : "COMMIT");
  if (!r) return r;  // still open: destructor rolls back
  --db_->depth_;
  db_ = nullptr;
  return {};
}

}  // namespace valija::store::sqlite
