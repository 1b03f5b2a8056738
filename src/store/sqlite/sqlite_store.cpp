// The SQLite engine: opening, reader pool, WAL checkpoints (store_impl.hpp has the class).
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "base/thread_name.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {

namespace {

Result<void> configure(Db& db) {
  TRY(db.exec("PRAGMA journal_mode=WAL"));
  // FULL: the WAL is fsynced at every commit, so a committed delivery survives power loss.
  TRY(db.exec("PRAGMA synchronous=FULL"));
  TRY(db.exec("PRAGMA foreign_keys=ON"));
  // The writer's statement journals stay in memory (on disk, every batch created,
  // wrote and deleted a temporary file), and its page cache holds the indexes a
  // commit touches (the default 2 MiB made it reread some pages in every batch).
  TRY(db.exec("PRAGMA temp_store=MEMORY"));
  TRY(db.exec("PRAGMA cache_size=-32768"));
  return {};
}

}  // namespace

SqliteStore::~SqliteStore() {
  bool claims_pending = false;
  {
    std::lock_guard lock(recent_mu_);
    claims_pending = !recent_claims_.empty();
  }
  if (claims_pending) {  // the \Recent claims no commit has written yet
    std::lock_guard lock(write_mu_);
    if (auto tx = Tx::begin(writer_)) (void)commit_writer(*tx);
  }
  {
    std::lock_guard l(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_one();
  if (ckpt_thread_.joinable()) ckpt_thread_.join();
}

Result<void> SqliteStore::commit_writer(Tx& tx) {
  if (tx.nested()) return tx.commit();
  if (packs_.needs_sync()) {  // the bodies this commit references are durable first
    auto synced = packs_.sync();
    if (!synced) {
      next_pack();  // never append to a pack whose sync failed
      return synced;  // tx rolls back
    }
  }
  auto claims = write_recent_claims();
  TRY(tx.commit());
  forget_recent_claims(claims);
  return {};
}

Result<void> SqliteStore::init() {
  TRY(blobs_.init());
  TRY(packs_.init());
  // Appends continue in the newest committed pack while it has room; otherwise (and
  // past any pack file a crash left uncommitted) a new one starts.
  auto files = packs_.list();
  TRY(files);
  std::uint64_t newest_file = files->empty() ? 0 : files->back();
  auto st = writer_.cached("SELECT id, size FROM packs ORDER BY id DESC LIMIT 1");
  TRY(st);
  auto row = st->step();
  TRY(row);
  std::uint64_t newest = 0, size = 0;
  if (*row) {
    newest = static_cast<std::uint64_t>(st->i64(0));
    size = static_cast<std::uint64_t>(st->i64(1));
  }
  st->reset();
  if (newest > 0 && newest >= newest_file && size < pack_max_) current_pack_ = newest;
  else current_pack_ = std::max(newest, newest_file) + 1;
  return {};
}

// Checkpoints copy the WAL back into the database file (and fsync it). Done by the
// committing connection, they would stall deliveries for that time; here a thread of
// its own runs them (PASSIVE: never blocks the writer), woken when the WAL has grown.
// If its connection cannot be opened, the writer keeps SQLite's own automatic
// checkpoints (slower commits, but the WAL never grows without bound).
void SqliteStore::start_checkpointer() {
  auto db = Db::open(dir_ + "/valija.db");
  // A connection that has not read the database yet does not know it is in WAL mode
  // (the checkpoint would be a no-op): make it look.
  if (!db || !db->exec("PRAGMA journal_mode=WAL")) {
    log::warn("event=checkpointer_unavailable error={} fallback=autocheckpoint",
              log::q(db ? "journal_mode" : db.error().detail));
    return;
  }
  sqlite3_wal_hook(writer_.raw(), &SqliteStore::on_wal_commit, this);
  ckpt_thread_ = std::thread([this, conn = std::make_shared<Db>(std::move(*db))] { checkpoint_loop(*conn); });
  name_thread(ckpt_thread_, "checkpointer");
}

int SqliteStore::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
  auto* s = static_cast<SqliteStore*>(self);
  if (pages >= kCheckpointPages) {
    {
      std::lock_guard l(s->ckpt_mu_);
      s->ckpt_wanted_ = true;
    }
    s->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::checkpoint_loop(Db& db) {
  std::unique_lock l(ckpt_mu_);
  while (!ckpt_stop_) {
    ckpt_cv_.wait_for(l, std::chrono::seconds(5), [this] { return ckpt_stop_ || ckpt_wanted_; });
    if (ckpt_stop_) break;
    ckpt_wanted_ = false;
    l.unlock();
    int rc = sqlite3_wal_checkpoint_v2(db.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) log::warn("event=checkpoint_failed error={}", log::q(sqlite3_errstr(rc)));
    l.lock();
  }
}

Result<Stats> SqliteStore::stats() {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(
      "SELECT (SELECT count(*) FROM blobs), (SELECT coalesce(sum(size), 0) FROM blobs), (SELECT count(*) FROM messages)");
  TRY(st);
  TRY(st->step());
  return Stats{static_cast<std::uint64_t>(st->i64(0)), static_cast<std::uint64_t>(st->i64(1)),
               static_cast<std::uint64_t>(st->i64(2))};
}

Result<SqliteStore::ReaderLease> SqliteStore::reader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      Db db = std::move(pool_.back());
      pool_.pop_back();
      return ReaderLease(this, std::move(db));
    }
  }
  auto db = Db::open(dir_ + "/valija.db");
  TRY(db);
  TRY(db->exec("PRAGMA foreign_keys=ON"));
  return ReaderLease(this, std::move(*db));
}

void SqliteStore::release(Db db) {
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < 16) pool_.push_back(std::move(db));
}

}  // namespace valija::store::sqlite

namespace valija::store {

using sqlite::configure;
using sqlite::Db;
using sqlite::SqliteStore;

std::string content_id(std::string_view body) { return blob::content_id(body); }

int sqlite_schema_version() { return sqlite::current_version(); }

Result<std::unique_ptr<Store>> open_sqlite(const OpenOptions& o) {
  struct stat st {};
  if (::stat(o.data_dir.c_str(), &st) != 0) {
    if (!o.create) return fail(Errc::NotFound, fmt::format("data dir {} does not exist", o.data_dir));
    if (::mkdir(o.data_dir.c_str(), 0750) != 0 && errno != EEXIST)
      return fail(Errc::Unavailable, fmt::format("cannot create data dir {}: {}", o.data_dir, std::strerror(errno)));
  } else if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::Invalid, fmt::format("{} is not a directory", o.data_dir));
  }
  if (!o.create && ::stat((o.data_dir + "/valija.db").c_str(), &st) != 0)
    return fail(Errc::NotFound, fmt::format("no valija data in {}", o.data_dir));
  auto db = Db::open(o.data_dir + "/valija.db");
  TRY(db);
  TRY(configure(*db));
  TRY(sqlite::migrate(*db));
  auto s = std::make_unique<SqliteStore>(o, std::move(*db));
  TRY(s->init());
  if (o.background_checkpoints) s->start_checkpointer();
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace valija::store
