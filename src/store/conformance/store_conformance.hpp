#pragma once
// The store conformance fixture (STYLE.md "Tests"; Stalwart's tests/src/store): typed
// tests over every engine, written against store.hpp only. Each engine supplies a factory
// and, where it keeps bodies as files, where to find them; a PostgreSQL engine joins by
// adding itself to Engines.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/sqlite/db.hpp"
#include "base/testing/temp_dir.hpp"
#include "store/store.hpp"

namespace valija::store::conformance {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("valija-store") {}
};

// ---------------- engines ----------------

struct SqliteEngine {
  static Result<std::unique_ptr<Store>> open(const std::string& dir) { return open_sqlite({dir + "/data", true}); }
  // Where the engine keeps a body on disk, when it keeps bodies as files.
  static std::optional<fs::path> blob_file(const std::string& dir, const std::string& id) {
    return fs::path(dir) / "data" / "blobs" / id.substr(0, 2) / id;
  }
  // The directory holding the body shards, when the engine keeps bodies as files.
  static std::optional<fs::path> blob_root(const std::string& dir) { return fs::path(dir) / "data" / "blobs"; }
  // Whether a body's octets are still kept (a file of its own, or a pack file holding
  // it and a row saying where), when the engine can tell.
  static std::optional<bool> blob_stored(const std::string& dir, const std::string& id) {
    auto db = sqlite::Db::open(dir + "/data/valija.db");
    if (!db) return std::nullopt;
    auto st = db->prepare("SELECT pack_id FROM blobs WHERE id = ?");
    if (!st) return std::nullopt;
    st->bind(1, id);
    auto row = st->step();
    if (!row) return std::nullopt;
    if (*row && !st->is_null(0))
      return fs::exists(fs::path(dir) / "data" / "packs" / ("pack-" + std::to_string(st->i64(0))));
    return fs::exists(*blob_file(dir, id));
  }
  // The stored reference count of a blob, when the engine can tell.
  static std::optional<std::int64_t> blob_refs(const std::string& dir, const std::string& id) {
    auto db = sqlite::Db::open(dir + "/data/valija.db");
    if (!db) return std::nullopt;
    auto st = db->prepare("SELECT refs FROM blobs WHERE id = ?");
    if (!st) return std::nullopt;
    st->bind(1, id);
    auto row = st->step();
    if (!row || !*row) return std::nullopt;
    return st->i64(0);
  }
};

template <class Engine>
class StoreFixture : public testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    auto s = Engine::open(dir_.path());
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }
  // Destroys the store and opens the same data again (persistence).
  void reopen() {
    store_.reset();
    open();
  }
  // Opens the same data again as after a crash: the old store is not destroyed while
  // the test runs, so nothing it keeps in memory gets written.
  void crash_and_reopen() {
    abandoned_.push_back(std::move(store_));
    open();
  }
  Store& s() { return *store_; }

  Domain domain(const std::string& name) {
    auto d = s().add_domain(name);
    EXPECT_TRUE(d) << d.error().message();
    return d ? *d : Domain{};
  }
  Account account(const std::string& local, const std::string& dom, std::uint64_t quota = 0) {
    auto a = s().add_account(local, dom, "hash-of-" + local, quota);
    EXPECT_TRUE(a) << a.error().message();
    return a ? *a : Account{};
  }
  MailboxInfo mailbox(AccountId id, const std::string& name) {
    auto m = s().find_mailbox(id, name);
    EXPECT_TRUE(m && m->has_value()) << name;
    return (m && *m) ? **m : MailboxInfo{};
  }
  std::vector<MessageInfo> messages(AccountId id, const std::string& name) {
    auto l = s().list_messages(mailbox(id, name).id);
    EXPECT_TRUE(l) << l.error().message();
    return l ? *l : std::vector<MessageInfo>{};
  }
  Account reload(const Account& a) {
    auto f = s().find_account(a.local, a.domain);
    EXPECT_TRUE(f && f->has_value());
    return (f && *f) ? **f : Account{};
  }
  std::optional<fs::path> blob_file(const std::string& id) { return Engine::blob_file(dir_.path(), id); }
  std::optional<std::int64_t> blob_refs(const std::string& id) { return Engine::blob_refs(dir_.path(), id); }
  std::optional<bool> blob_stored(const std::string& id) { return Engine::blob_stored(dir_.path(), id); }
  std::optional<fs::path> blob_root() { return Engine::blob_root(dir_.path()); }

  // One delivery of body to each (account, mailbox), prefix per copy. With blob_id, the
  // body was stored beforehand by put_blob().
  std::vector<CopyResult> deliver(std::string_view body, std::vector<Copy> copies, std::string blob_id = "") {
    Delivery d;
    d.body = body;
    d.blob_id = std::move(blob_id);
    d.internal_date = 1700000000;
    d.trace_id = "TRACE1";
    d.copies = std::move(copies);
    auto r = s().deliver(std::span<const Delivery>(&d, 1));
    EXPECT_TRUE(r) << r.error().message();
    if (!r) return {};
    EXPECT_EQ(r->size(), 1u);
    return r->empty() ? std::vector<CopyResult>{} : (*r)[0];
  }
  static Copy copy(AccountId a, std::string prefix = "", std::string mailbox = "INBOX") {
    Copy c;
    c.account = a;
    c.mailbox = std::move(mailbox);
    c.prefix = std::move(prefix);
    return c;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::vector<std::unique_ptr<Store>> abandoned_;  // by crash_and_reopen()
};

using Engines = testing::Types<SqliteEngine>;
class EngineNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, SqliteEngine>) return "sqlite";
    return "unknown";
  }
};

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline constexpr std::string_view kBody =
    "From: sender@example.net\r\nTo: ana@example.org\r\nSubject: hi\r\n\r\nHello, Ana.\r\n";

}  // namespace valija::store::conformance
