// Schema migrations: every earlier version upgrades to the current one with its data
// intact; a newer schema is refused, by migrate() and by open_sqlite().
#include "store/sqlite/schema.hpp"
#include "base/testing/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/sqlite/db.hpp"
#include "store/store.hpp"

namespace valija::store::sqlite {
namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("valija-schema") {}
};

std::int64_t scalar(Db& db, const std::string& sql) {
  auto st = db.prepare(sql);
  EXPECT_TRUE(st) << sql << ": " << st.error().message();
  if (!st) return -1;
  auto row = st->step();
  EXPECT_TRUE(row && *row) << sql;
  if (!row || !*row) return -1;
  return st->i64(0);
}

std::string text(Db& db, const std::string& sql) {
  auto st = db.prepare(sql);
  EXPECT_TRUE(st) << sql << ": " << st.error().message();
  if (!st) return {};
  auto row = st->step();
  EXPECT_TRUE(row && *row) << sql;
  if (!row || !*row) return {};
  return st->str(0);
}

// Data valid at schema version v (v >= 1): one of everything, by plain SQL so the test
// does not depend on the store code of the current version.
void insert_data(Db& db, int v) {
  ASSERT_GE(v, 1);
  // Version 1 tables. A later migration that changes them adds a branch here.
  auto r = db.exec(R"sql(
    INSERT INTO domains(id, name, created) VALUES(1, 'example.org', 1700000000);
    INSERT INTO accounts(id, domain_id, local, password_hash, quota_bytes, used_bytes, used_messages, created)
      VALUES(1, 1, 'ana', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 1000000, 42, 1, 1700000000);
    INSERT INTO aliases(id, domain_id, local) VALUES(1, 1, 'team');
    INSERT INTO alias_targets(alias_id, target) VALUES(1, 'ana@example.org');
    INSERT INTO mailboxes(id, account_id, name, special_use, uidvalidity, uidnext, highest_modseq, messages)
      VALUES(1, 1, 'INBOX', '', 1700000000, 2, 2, 1);
    INSERT INTO mailboxes(id, account_id, name, special_use, uidvalidity)
      VALUES(2, 1, 'Sent', '\Sent', 1700000000);
    INSERT INTO blobs(id, size, refs)
      VALUES('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 3, 1);
    INSERT INTO messages(id, mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix, trace_id)
      VALUES(1, 1, 1, 2, '\Seen', 1700000000, 42,
             'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
             X'52657475726E2D506174683A203C3E0D0A', 'TRACE1');
    INSERT INTO expunged(mailbox_id, uid, modseq) VALUES(1, 7, 1);
  )sql");
  ASSERT_TRUE(r) << "v" << v << ": " << r.error().message();
}

void check_data(Db& db) {
  EXPECT_EQ(text(db, "SELECT name FROM domains WHERE id = 1"), "example.org");
  EXPECT_EQ(text(db, "SELECT local FROM accounts WHERE id = 1 AND domain_id = 1"), "ana");
  EXPECT_EQ(text(db, "SELECT password_hash FROM accounts WHERE id = 1"),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
  EXPECT_EQ(scalar(db, "SELECT quota_bytes FROM accounts WHERE id = 1"), 1000000);
  EXPECT_EQ(scalar(db, "SELECT used_bytes FROM accounts WHERE id = 1"), 42);
  EXPECT_EQ(scalar(db, "SELECT used_messages FROM accounts WHERE id = 1"), 1);
  EXPECT_EQ(text(db, "SELECT t.target FROM aliases a JOIN alias_targets t ON t.alias_id = a.id WHERE a.local = 'team'"),
            "ana@example.org");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM mailboxes WHERE account_id = 1"), 2);
  EXPECT_EQ(scalar(db, "SELECT uidvalidity FROM mailboxes WHERE id = 1"), 1700000000);
  EXPECT_EQ(scalar(db, "SELECT uidnext FROM mailboxes WHERE id = 1"), 2);
  EXPECT_EQ(text(db, "SELECT special_use FROM mailboxes WHERE id = 2"), "\\Sent");
  EXPECT_EQ(scalar(db, "SELECT refs FROM blobs WHERE id = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'"), 1);
  if (current_version() >= 2) {  // a body from before packs stays a file of its own
    EXPECT_EQ(scalar(db, "SELECT count(*) FROM blobs WHERE pack_id IS NULL AND pack_offset IS NULL"), 1);
  }
  EXPECT_EQ(scalar(db, "SELECT uid FROM messages WHERE id = 1"), 1);
  EXPECT_EQ(text(db, "SELECT flags FROM messages WHERE id = 1"), "\\Seen");
  EXPECT_EQ(text(db, "SELECT prefix FROM messages WHERE id = 1"), "Return-Path: <>\r\n");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM expunged"), 1);
}

Db open_db(const std::string& path) {
  auto db = Db::open(path);
  EXPECT_TRUE(db) << db.error().message();
  if (!db) return Db();
  EXPECT_TRUE(db->exec("PRAGMA foreign_keys=ON"));
  return std::move(*db);
}

TEST(Schema, VersionMatchesMigrations) {
  EXPECT_GE(current_version(), 1);
  EXPECT_EQ(static_cast<std::size_t>(current_version()), migrations().size());
  EXPECT_EQ(store::sqlite_schema_version(), current_version());
}

TEST(Schema, FreshDatabaseIsVersionZero) {
  TempDir dir;
  Db db = open_db(dir.path() + "/x.db");
  ASSERT_NE(db.raw(), nullptr);
  auto v = read_version(db);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 0);
}

TEST(Schema, MigrateStopsAtTarget) {
  TempDir dir;
  Db db = open_db(dir.path() + "/x.db");
  ASSERT_NE(db.raw(), nullptr);
  ASSERT_TRUE(migrate(db, 0));
  EXPECT_EQ(*read_version(db), 0);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 0);
  ASSERT_TRUE(migrate(db, 1));
  EXPECT_EQ(*read_version(db), 1);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'messages'"), 1);
}

// Every version this build could meet on disk, the current one included (a no-op).
TEST(Schema, EveryEarlierVersionUpgradesWithData) {
  for (int v = 0; v <= current_version(); ++v) {
    SCOPED_TRACE("from version " + std::to_string(v));
    TempDir dir;
    Db db = open_db(dir.path() + "/valija.db");
    ASSERT_NE(db.raw(), nullptr);
    auto r = migrate(db, v);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(*read_version(db), v);
    if (v >= 1) insert_data(db, v);

    r = migrate(db);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*read_version(db), current_version());
    EXPECT_EQ(scalar(db, "PRAGMA user_version"), current_version());
    if (v >= 1) check_data(db);
    // The current schema holds the same data whatever version it came from.
    if (v == 0) insert_data(db, current_version());
    check_data(db);
    auto fk = db.prepare("PRAGMA foreign_key_check");
    ASSERT_TRUE(fk);
    auto row = fk->step();
    ASSERT_TRUE(row);
    EXPECT_FALSE(*row) << "foreign key violation in table " << fk->str(0);
  }
}

TEST(Schema, MigratedDatabaseOpensAsStore) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  fs::create_directory(data);
  {
    Db db = open_db(data + "/valija.db");
    ASSERT_NE(db.raw(), nullptr);
    ASSERT_TRUE(migrate(db, 1));
    insert_data(db, 1);
  }
  auto s = store::open_sqlite({data, false});
  ASSERT_TRUE(s) << s.error().message();
  auto a = (*s)->find_account("ana", "example.org");
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ((*a)->used_bytes, 42u);
  auto al = (*s)->find_alias("team", "example.org");
  ASSERT_TRUE(al && al->has_value());
  EXPECT_EQ((*al)->targets, std::vector<std::string>{"ana@example.org"});
}

TEST(Schema, SecondMigrateIsNoOp) {
  TempDir dir;
  Db db = open_db(dir.path() + "/valija.db");
  ASSERT_NE(db.raw(), nullptr);
  ASSERT_TRUE(migrate(db));
  insert_data(db, current_version());
  auto before = scalar(db, "SELECT count(*) FROM sqlite_master");
  auto r = migrate(db);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*read_version(db), current_version());
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM sqlite_master"), before);
  check_data(db);
}

TEST(Schema, NewerSchemaIsRefused) {
  TempDir dir;
  Db db = open_db(dir.path() + "/valija.db");
  ASSERT_NE(db.raw(), nullptr);
  ASSERT_TRUE(migrate(db));
  ASSERT_TRUE(db.exec("PRAGMA user_version = " + std::to_string(current_version() + 1)));
  auto r = migrate(db);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("newer"), std::string::npos) << r.error().detail;
  // Untouched.
  EXPECT_EQ(*read_version(db), current_version() + 1);
}

TEST(Schema, OpenSqliteRefusesNewerDataDir) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    auto s = store::open_sqlite({data, true});
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_TRUE((*s)->add_domain("example.org"));
  }
  {
    Db db = open_db(data + "/valija.db");
    ASSERT_NE(db.raw(), nullptr);
    ASSERT_TRUE(db.exec("PRAGMA user_version = " + std::to_string(current_version() + 1)));
  }
  auto s = store::open_sqlite({data, true});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("newer"), std::string::npos) << s.error().detail;
  {
    Db db = open_db(data + "/valija.db");
    EXPECT_EQ(*read_version(db), current_version() + 1);
  }
}

TEST(Schema, OpenSqliteCreatesCurrentSchema) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto missing = store::open_sqlite({data, false});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
  {
    auto s = store::open_sqlite({data, true});
    ASSERT_TRUE(s) << s.error().message();
  }
  Db db = open_db(data + "/valija.db");
  EXPECT_EQ(*read_version(db), current_version());
}

}  // namespace
}  // namespace valija::store::sqlite
