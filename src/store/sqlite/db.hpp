#pragma once
// Thin RAII layer over the SQLite C API: connections, prepared statements, transactions.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.hpp"

namespace valija::store::sqlite {

class Stmt;

class Db {
 public:
  static Result<Db> open(const std::string& path);
  Db() = default;
  Db(Db&& o) noexcept : db_(o.db_), cache_(std::move(o.cache_)), depth_(o.depth_) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  ~Db();

  Result<void> exec(std::string_view sql);
  Result<Stmt> prepare(std::string_view sql);
  // A statement kept compiled for the life of the connection; the returned Stmt resets
  // it when destroyed instead of finalizing. One user at a time (connections are not
  // shared between threads).
  Result<Stmt> cached(std::string_view sql);
  sqlite3* raw() const { return db_; }
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  Error error(std::string_view what) const;

 private:
  friend class Tx;
  void finalize_cache();
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  int depth_ = 0;  // open Tx objects (the outer one a transaction, inner ones savepoints)
};

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s, bool owned = true) : db_(db), s_(s), owned_(owned) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), owned_(o.owned_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind_blob(int i, std::string_view v);
  Stmt& bind_null(int i);

  // true: a row is ready; false: done. Errors map SQLITE_BUSY to Temporary.
  Result<bool> step();
  Result<void> run();  // step until done
  void reset();

  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string str(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  bool owned_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted. Inside another Tx
// on the same connection it is a savepoint (Store::batch runs several operations, each
// with its own Tx, in one transaction): committing releases it, destroying it uncommitted
// rolls back only its own changes.
class Tx {
 public:
  static Result<Tx> begin(Db& db);
  Tx(Tx&& o) noexcept : db_(o.db_), nested_(o.nested_) { o.db_ = nullptr; }
  ~Tx();
  Result<void> commit();
  bool nested() const { return nested_; }  // a savepoint inside another Tx

 private:
  Tx(Db* db, bool nested) : db_(db), nested_(nested) {}
  Db* db_;
  bool nested_;
};

}  // namespace valija::store::sqlite
