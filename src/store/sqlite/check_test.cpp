// Store::check on the SQLite engine: a store used every way is clean; each kind of
// damage, made on purpose (a body file deleted, cut short or altered, stray files, a
// counter changed with SQL), is reported naming the message or file; --repair fixes what
// can be fixed without losing mail and leaves damaged messages in place.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/testing/temp_dir.hpp"
#include "store/sqlite/db.hpp"
#include "store/store.hpp"

namespace valija::store {
namespace {

namespace fs = std::filesystem;

std::string body(int n, std::size_t size = 300) {
  std::string b = "Subject: m" + std::to_string(n) + "\r\n\r\n";
  while (b.size() < size) b += "line " + std::to_string(n) + "\r\n";
  return b;
}

class CheckTest : public testing::Test {
 protected:
  void SetUp() override {
    open();
    ASSERT_TRUE(store_->add_domain("example.org"));
    ana_ = account("ana");
    bea_ = account("bea");
  }

  void open() {
    store_.reset();
    OpenOptions o;
    o.data_dir = data();
    auto s = open_sqlite(o);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  std::string data() const { return dir_.path() + "/data"; }

  AccountId account(const std::string& local) {
    auto a = store_->add_account(local, "example.org", "x", 0);
    EXPECT_TRUE(a) << a.error().message();
    return a ? a->id : 0;
  }

  // Delivers `b` to these accounts' INBOXes (a large body goes through put_blob, as the
  // server does); returns the blob id.
  std::string deliver(const std::string& b, std::vector<AccountId> to, bool outbound = false) {
    Delivery d;
    d.body = b;
    d.internal_date = 1700000000;
    d.trace_id = "T" + std::to_string(++traces_);
    if (b.size() > kPackedBodyMax) {
      auto id = store_->put_blob(b);
      EXPECT_TRUE(id);
      d.blob_id = id ? *id : "";
    }
    for (auto a : to) d.copies.push_back(Copy{a, "INBOX", "Received: x\r\n", "", false});
    if (outbound) {
      Outbound o;
      o.sender = "ana@example.org";
      QueuedRecipient r;
      r.address = "zoe@example.net";
      r.domain = "example.net";
      o.rcpts.push_back(r);
      d.outbound = std::move(o);
    }
    auto r = store_->deliver(std::span<const Delivery>(&d, 1));
    EXPECT_TRUE(r) << r.error().message();
    return content_id(b);
  }

  CheckReport check(bool repair = false, bool deep = false) {
    CheckOptions o;
    o.repair = repair;
    o.deep = deep;
    o.in_flight_grace = 0;  // no server here: every stray file counts
    auto r = store_->check(o);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : CheckReport{};
  }

  static std::vector<CheckKind> kinds(const CheckReport& r) {
    std::vector<CheckKind> out;
    for (const auto& p : r.listed) out.push_back(p.kind);
    return out;
  }

  static std::string dump(const CheckReport& r) {
    std::string out;
    for (const auto& p : r.listed)
      out += std::string(check_kind_name(p.kind)) + ": " + p.message + (p.repaired ? " (repaired)" : "") + "\n";
    return out;
  }

  // SQL on the database from another connection, as an admin with sqlite3 would (no
  // foreign keys enforced).
  void sql(const std::string& text) {
    auto db = sqlite::Db::open(data() + "/valija.db");
    ASSERT_TRUE(db);
    auto r = db->exec(text);
    ASSERT_TRUE(r) << r.error().message();
  }

  std::string loose(const std::string& id) const { return data() + "/blobs/" + id.substr(0, 2) + "/" + id; }

  MailboxInfo inbox(AccountId a) { return store_->find_mailbox(a, "INBOX").value().value(); }

  test::TempDir dir_{"valija-check"};
  std::unique_ptr<Store> store_;
  AccountId ana_ = 0, bea_ = 0;
  int traces_ = 0;
};

TEST_F(CheckTest, AStoreUsedEveryWayIsClean) {
  deliver(body(1), {ana_, bea_});
  deliver(body(2, kPackedBodyMax + 10), {ana_});
  deliver(body(3), {ana_}, true);
  deliver(body(1), {bea_});  // the same body again: one more reference
  auto in = inbox(ana_);
  auto sent = store_->create_mailbox(ana_, "Work", "");
  ASSERT_TRUE(sent);
  std::vector<std::uint32_t> one{1}, two{2};
  ASSERT_TRUE(store_->copy_messages(in.id, one, sent->id, false));
  ASSERT_TRUE(store_->copy_messages(in.id, two, sent->id, true));
  ASSERT_TRUE(store_->expunge(in.id, std::vector<std::uint32_t>{3}));
  ASSERT_TRUE(store_->rename_mailbox(bea_, "INBOX", "Old"));
  ASSERT_TRUE(store_->delete_mailbox(ana_, "Work"));
  ASSERT_TRUE(store_->collect_garbage());
  auto r = check(false, true);
  EXPECT_EQ(r.problems, 0u) << dump(r);
  EXPECT_EQ(r.messages, 4u);  // ana INBOX 1, bea Old 2, the queue entry
  EXPECT_GE(r.bodies, 2u);
}

TEST_F(CheckTest, MissingBodyIsReportedWithItsMessageAndKept) {
  auto id = deliver(body(1, kPackedBodyMax + 10), {ana_});
  deliver(body(2), {ana_});
  ASSERT_TRUE(fs::remove(loose(id)));
  auto r = check();
  ASSERT_EQ(kinds(r), std::vector<CheckKind>{CheckKind::MissingBody}) << dump(r);
  EXPECT_NE(r.listed[0].message.find("ana@example.org INBOX UID 1 (trace T1)"), std::string::npos) << dump(r);
  EXPECT_EQ(r.listed[0].mailbox, inbox(ana_).id);
  EXPECT_EQ(r.listed[0].uid, 1u);
  r = check(true);
  EXPECT_EQ(r.problems, 1u);
  EXPECT_EQ(r.repaired, 0u);
  EXPECT_EQ(store_->list_messages(inbox(ana_).id)->size(), 2u);  // never deleted
}

TEST_F(CheckTest, BodyCutShortInAPackOrALooseFile) {
  deliver(body(1), {ana_});
  auto big = deliver(body(2, kPackedBodyMax + 10), {bea_});
  fs::resize_file(data() + "/packs/pack-1", 100);
  fs::resize_file(loose(big), 1000);
  auto r = check();
  EXPECT_EQ(kinds(r), (std::vector<CheckKind>{CheckKind::ShortBody, CheckKind::ShortBody})) << dump(r);
  EXPECT_NE(dump(r).find("ana@example.org INBOX UID 1"), std::string::npos) << dump(r);
  EXPECT_NE(dump(r).find("bea@example.org INBOX UID 1"), std::string::npos) << dump(r);
}

TEST_F(CheckTest, AlteredBodyIsFoundByTheDeepCheck) {
  deliver(body(1), {ana_});
  {
    std::fstream f(data() + "/packs/pack-1", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('#');
  }
  EXPECT_EQ(check().problems, 0u);
  auto r = check(false, true);
  EXPECT_EQ(kinds(r), std::vector<CheckKind>{CheckKind::CorruptBody}) << dump(r);
}

TEST_F(CheckTest, StrayFilesAreOrphansThatRepairRemoves) {
  deliver(body(1), {ana_});
  auto stray = content_id("never delivered");
  std::ofstream(loose(stray)) << "never delivered";
  auto temp = data() + "/blobs/ab/.tmp.999999999-deadbeef.1";  // no such process
  std::ofstream(temp) << "half written";
  std::ofstream(data() + "/packs/pack-0") << "a batch whose commit never came";
  auto r = check();
  EXPECT_EQ(r.problems, 3u) << dump(r);
  EXPECT_EQ(r.repaired, 0u);
  EXPECT_TRUE(fs::exists(temp));
  r = check(true);
  EXPECT_EQ(r.problems, 3u) << dump(r);
  EXPECT_EQ(r.repaired, 3u) << dump(r);
  EXPECT_FALSE(fs::exists(loose(stray)));
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(data() + "/packs/pack-0"));
  EXPECT_EQ(check().problems, 0u);
  EXPECT_EQ(store_->read_message(store_->list_messages(inbox(ana_).id)->at(0))->substr(13), body(1));
}

TEST_F(CheckTest, WrongCountersAreRepaired) {
  auto id = deliver(body(1), {ana_, bea_});
  deliver(body(2), {ana_});
  // refs 0 would let the collector delete a body two messages use.
  sql("UPDATE blobs SET refs = 0 WHERE id = '" + id + "'");
  sql("UPDATE mailboxes SET messages = 7, uidnext = 2, highest_modseq = 1 WHERE account_id = " +
      std::to_string(ana_) + " AND name = 'INBOX'");
  sql("UPDATE accounts SET used_bytes = 5 WHERE id = " + std::to_string(bea_));
  sql("UPDATE packs SET live = 1");
  sql("UPDATE counters SET value = 1 WHERE name = 'uidvalidity'");
  auto r = check();
  EXPECT_EQ(kinds(r), (std::vector<CheckKind>{CheckKind::BlobRefs, CheckKind::MailboxCounters,
                                              CheckKind::MailboxCounters, CheckKind::AccountUsage,
                                              CheckKind::PackCounters}))
      << dump(r);
  EXPECT_NE(dump(r).find("ana@example.org INBOX: 7 messages counted, 2 there, UIDNEXT 2 not above UID 2"),
            std::string::npos)
      << dump(r);
  r = check(true);
  EXPECT_EQ(r.problems, 5u) << dump(r);
  EXPECT_EQ(r.repaired, 5u) << dump(r);
  r = check();
  EXPECT_EQ(r.problems, 0u) << dump(r);
  // The shared body survived the collection that ran with the repair.
  auto in = inbox(ana_);
  EXPECT_EQ(in.messages, 2u);
  EXPECT_EQ(in.uidnext, 3u);
  auto msgs = store_->list_messages(in.id);
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_TRUE(store_->read_message(msgs->at(0)));
  auto bea = store_->find_account("bea", "example.org").value().value();
  EXPECT_EQ(bea.used_bytes, msgs->at(0).size);
}

TEST_F(CheckTest, MessageNamingABodyWithoutRow) {
  auto big = deliver(body(1, kPackedBodyMax + 10), {ana_});
  auto small = deliver(body(2), {ana_});
  sql("DELETE FROM blobs");
  auto r = check();
  EXPECT_EQ(kinds(r), (std::vector<CheckKind>{CheckKind::MissingBlobRow, CheckKind::MissingBlobRow,
                                              CheckKind::PackCounters}))
      << dump(r);
  // The loose body is taken back (its file is its content); the packed one cannot be.
  r = check(true);
  EXPECT_EQ(r.problems, 3u) << dump(r);
  EXPECT_EQ(r.repaired, 2u) << dump(r);
  EXPECT_TRUE(fs::exists(loose(big)));
  auto msgs = store_->list_messages(inbox(ana_).id);
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_TRUE(store_->read_message(msgs->at(0)));
  r = check();
  EXPECT_EQ(kinds(r), std::vector<CheckKind>{CheckKind::MissingBlobRow}) << dump(r);
  EXPECT_NE(r.listed[0].message.find(small.substr(0, 12)), std::string::npos) << dump(r);
}

TEST_F(CheckTest, ForeignKeyViolationIsADatabaseProblem) {
  sql("INSERT INTO mailboxes(account_id, name, uidvalidity) VALUES(999, 'X', 1)");
  auto r = check();
  EXPECT_EQ(kinds(r), std::vector<CheckKind>{CheckKind::Database}) << dump(r);
  // Reported only: which of the rows is wrong is for the admin to decide.
  EXPECT_EQ(check(true).repaired, 0u);
}

}  // namespace
}  // namespace valija::store
