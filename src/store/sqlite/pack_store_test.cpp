// The SQLite engine's pack files seen through the Store interface: small bodies share
// packs, a full pack rotates, collection deletes dead packs and compacts sparse ones,
// a crash's leftovers are swept, and a restart continues where it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "base/testing/temp_dir.hpp"
#include "store/sqlite/db.hpp"
#include "store/store.hpp"

namespace valija::store {
namespace {

namespace fs = std::filesystem;

class PackStoreTest : public testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    store_.reset();
    OpenOptions o;
    o.data_dir = dir_.path() + "/data";
    o.pack_max = 4096;
    o.compact_min = 1024;
    auto s = open_sqlite(o);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    auto found = store_->find_domain("example.org");
    ASSERT_TRUE(found);
    if (!*found) {
      ASSERT_TRUE(store_->add_domain("example.org"));
    }
  }

  AccountId account(const std::string& local) {
    auto a = store_->add_account(local, "example.org", "x", 0);
    EXPECT_TRUE(a) << a.error().message();
    return a ? a->id : 0;
  }

  // One delivery per body, all in one batch, each to `to`.
  void deliver(const std::vector<std::string>& bodies, AccountId to) {
    std::vector<Delivery> batch;
    for (const auto& b : bodies) {
      Delivery d;
      d.body = b;
      d.internal_date = 1700000000;
      d.trace_id = "T";
      d.copies.push_back(Copy{to, "INBOX", "P: x\r\n", "", false});
      batch.push_back(std::move(d));
    }
    auto r = store_->deliver(batch);
    ASSERT_TRUE(r) << r.error().message();
    for (const auto& per : *r)
      for (const auto& c : per) ASSERT_TRUE(c) << c.error().message();
  }

  std::multiset<std::string> bodies_of(AccountId a) {
    std::multiset<std::string> out;
    auto mb = store_->find_mailbox(a, "INBOX").value();
    auto messages = store_->list_messages(mb->id);
    EXPECT_TRUE(messages);
    if (!messages) return out;
    for (const auto& m : *messages) {
      auto whole = store_->read_message(m);
      EXPECT_TRUE(whole) << whole.error().message();
      if (whole) out.insert(whole->substr(6));  // without the "P: x\r\n" prefix
    }
    return out;
  }

  std::set<std::string> pack_files() {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.path() + "/data/packs")) names.insert(e.path().filename());
    return names;
  }

  // The size of a pack file without the zeros the writer keeps ahead of its end: a
  // restart cuts them off.
  std::uintmax_t closed_size(const std::string& pack) {
    open();
    return fs::file_size(dir_.path() + "/data/packs/" + pack);
  }

  static std::string body(int i, std::size_t size = 1000) {
    std::string b = "Subject: " + std::to_string(i) + "\r\n\r\n";
    b.resize(size, static_cast<char>('a' + i % 26));
    return b;
  }

  test::TempDir dir_{"valija-packstore"};
  std::unique_ptr<Store> store_;
};

TEST_F(PackStoreTest, SmallBodiesShareAPackAndRotate) {
  auto ana = account("ana");
  std::vector<std::string> first{body(1), body(2), body(3)};
  deliver(first, ana);
  EXPECT_EQ(pack_files(), (std::set<std::string>{"pack-1"}));
  EXPECT_EQ(closed_size("pack-1"), 3000u);
  // Past pack_max the next batch starts a new pack.
  std::vector<std::string> second{body(4), body(5)};
  deliver(second, ana);
  std::vector<std::string> third{body(6)};
  deliver(third, ana);
  EXPECT_EQ(pack_files(), (std::set<std::string>{"pack-1", "pack-2"}));
  std::multiset<std::string> want{body(1), body(2), body(3), body(4), body(5), body(6)};
  EXPECT_EQ(bodies_of(ana), want);
  // No file per body.
  std::size_t loose = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/data/blobs"))
    if (e.is_regular_file()) ++loose;
  EXPECT_EQ(loose, 0u);
}

TEST_F(PackStoreTest, SameBodyStoredOnce) {
  auto ana = account("ana");
  auto bob = account("bob");
  std::vector<std::string> twice{body(1), body(1)};
  deliver(twice, ana);
  std::vector<std::string> again{body(1)};
  deliver(again, bob);
  EXPECT_EQ(closed_size("pack-1"), 1000u);
  EXPECT_EQ(store_->stats()->blobs, 1u);
  EXPECT_EQ(bodies_of(bob), std::multiset<std::string>{body(1)});
}

TEST_F(PackStoreTest, CollectionDeletesDeadPacksAndCompactsSparseOnes) {
  auto ana = account("ana");
  auto bob = account("bob");
  // pack-1: four bodies of ana's and one of bob's; pack-2: ana's only; pack-3 current.
  std::vector<std::string> p1{body(1), body(2), body(3), body(4), body(5)};
  std::vector<Delivery> batch;
  for (std::size_t i = 0; i < p1.size(); ++i) {
    Delivery d;
    d.body = p1[i];
    d.trace_id = "T";
    d.copies.push_back(Copy{i == 4 ? bob : ana, "INBOX", "P: x\r\n", "", false});
    batch.push_back(std::move(d));
  }
  ASSERT_TRUE(store_->deliver(batch));
  std::vector<std::string> p2{body(6), body(7), body(8), body(9), body(10)};
  deliver(p2, ana);
  std::vector<std::string> p3{body(11)};
  deliver(p3, bob);
  EXPECT_EQ(pack_files(), (std::set<std::string>{"pack-1", "pack-2", "pack-3"}));

  ASSERT_TRUE(store_->remove_account("ana", "example.org"));
  auto gc = store_->collect_garbage();
  ASSERT_TRUE(gc) << gc.error().message();
  EXPECT_EQ(*gc, 9u);
  // pack-2 had nothing left: deleted. pack-1 kept one body of five: compacted into the
  // current pack. The current pack is never touched.
  EXPECT_EQ(pack_files(), (std::set<std::string>{"pack-3"}));
  EXPECT_EQ(closed_size("pack-3"), 2000u);
  EXPECT_EQ(bodies_of(bob), (std::multiset<std::string>{body(5), body(11)}));
  // The moved body is found after a restart too.
  open();
  EXPECT_EQ(bodies_of(bob), (std::multiset<std::string>{body(5), body(11)}));
}

// A packed body whose bytes changed on disk (same size) is Corrupt when opened, while
// the pack's other bodies are read as before.
TEST_F(PackStoreTest, BodyChangedOnDiskIsCorrupt) {
  auto ana = account("ana");
  std::vector<std::string> a{body(1), body(2)};
  deliver(a, ana);
  {
    std::fstream f(dir_.path() + "/data/packs/pack-1", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000 + 500);  // inside the second body
    f.put('#');
  }
  auto mb = store_->find_mailbox(ana, "INBOX").value();
  auto messages = store_->list_messages(mb->id).value();
  ASSERT_EQ(messages.size(), 2u);
  auto first = store_->read_message(messages[0]);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->substr(6), body(1));
  auto second = store_->open_message(messages[1]);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::Corrupt);
  EXPECT_NE(second.error().detail.find("no longer matches its checksum"), std::string::npos) << second.error().detail;
}

TEST_F(PackStoreTest, RestartContinuesTheNewestPack) {
  auto ana = account("ana");
  std::vector<std::string> a{body(1)};
  deliver(a, ana);
  open();
  std::vector<std::string> b{body(2)};
  deliver(b, ana);
  EXPECT_EQ(pack_files(), (std::set<std::string>{"pack-1"}));
  EXPECT_EQ(closed_size("pack-1"), 2000u);
  EXPECT_EQ(bodies_of(ana), (std::multiset<std::string>{body(1), body(2)}));
}

TEST_F(PackStoreTest, CrashLeftoversAreSweptAndSkipped) {
  auto ana = account("ana");
  std::vector<std::string> a{body(1)};
  deliver(a, ana);
  // A crash after appending (pack-1 grows past what was committed) and after creating a
  // pack never committed (pack-5).
  std::ofstream(dir_.path() + "/data/packs/pack-1", std::ios::app) << "torn bytes never committed";
  std::ofstream(dir_.path() + "/data/packs/pack-5") << "a batch whose commit never came";
  open();
  // The uncommitted pack-5 is older than the one now in use (pack-6): swept.
  auto sweep = store_->sweep_orphans();
  ASSERT_TRUE(sweep) << sweep.error().message();
  EXPECT_EQ(*sweep, 1u);
  std::vector<std::string> b{body(2)};
  deliver(b, ana);
  EXPECT_EQ(pack_files(), (std::set<std::string>{"pack-1", "pack-6"}));
  EXPECT_EQ(bodies_of(ana), (std::multiset<std::string>{body(1), body(2)}));
  // The current pack is never swept, committed or not.
  sweep = store_->sweep_orphans();
  ASSERT_TRUE(sweep);
  EXPECT_EQ(*sweep, 0u);
}

TEST_F(PackStoreTest, LargeBodiesStayFilesOfTheirOwn) {
  auto ana = account("ana");
  std::string big = body(1, kPackedBodyMax + 1);
  auto id = store_->put_blob(big);
  ASSERT_TRUE(id);
  Delivery d;
  d.body = big;
  d.blob_id = *id;
  d.trace_id = "T";
  d.copies.push_back(Copy{ana, "INBOX", "P: x\r\n", "", false});
  std::vector<Delivery> batch{d};
  ASSERT_TRUE(store_->deliver(batch));
  EXPECT_TRUE(fs::exists(dir_.path() + "/data/blobs/" + id->substr(0, 2) + "/" + *id));
  EXPECT_TRUE(pack_files().empty());
  EXPECT_EQ(bodies_of(ana), std::multiset<std::string>{big});
}

// A loose file whose content was packed meanwhile (or never committed) is swept; the
// packed copy stays readable.
TEST_F(PackStoreTest, LooseFileOfAPackedBodyIsSwept) {
  auto ana = account("ana");
  std::vector<std::string> a{body(1)};
  auto id = store_->put_blob(a[0]);  // written as a file, then delivered by content
  ASSERT_TRUE(id);
  deliver(a, ana);
  open();  // forget the pin, as after a restart
  auto sweep = store_->sweep_orphans();
  ASSERT_TRUE(sweep);
  EXPECT_EQ(*sweep, 1u);
  EXPECT_FALSE(fs::exists(dir_.path() + "/data/blobs/" + id->substr(0, 2) + "/" + *id));
  EXPECT_EQ(bodies_of(ana), std::multiset<std::string>{body(1)});
}

}  // namespace
}  // namespace valija::store
