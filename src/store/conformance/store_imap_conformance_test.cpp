// Store conformance, IMAP: mailbox create/delete/rename/subscriptions, flags with
// MODSEQ, COPY/MOVE, expunge of \Deleted, changes since a MODSEQ, \Recent, the cached
// structure, partial reads and the change listener.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "store/conformance/store_conformance.hpp"

namespace valija::store::conformance {
namespace {

template <class Engine>
class StoreImap : public StoreFixture<Engine> {
 protected:
  void SetUp() override {
    StoreFixture<Engine>::SetUp();
    this->domain("example.org");
    ana_ = this->account("ana", "example.org");
  }
  // Delivers n messages to the mailbox; returns their UIDs.
  std::vector<std::uint32_t> fill(const std::string& mailbox, int n) {
    std::vector<std::uint32_t> uids;
    for (int i = 0; i < n; ++i) {
      auto body = std::string(kBody) + "message " + std::to_string(i) + "\r\n";
      auto r = this->deliver(body, {this->copy(ana_.id, "", mailbox)});
      EXPECT_EQ(r.size(), 1u);
      if (!r.empty() && r[0]) uids.push_back(r[0]->uid);
    }
    return uids;
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    auto l = this->s().list_mailboxes(ana_.id);
    EXPECT_TRUE(l);
    if (l)
      for (const auto& m : *l) out.push_back(m.name + (m.noselect ? " (noselect)" : ""));
    return sorted(out);
  }
  Account ana_;
};
TYPED_TEST_SUITE(StoreImap, Engines, EngineNames);

using Names = std::vector<std::string>;

std::vector<MailboxId> sorted_ids(std::vector<MailboxId> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

TYPED_TEST(StoreImap, CreateMakesParentsAndRefusesDuplicates) {
  auto& s = this->s();
  auto m = s.create_mailbox(this->ana_.id, "Work/2026/Q1", "");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->name, "Work/2026/Q1");
  EXPECT_GT(m->uidvalidity, 0u);
  EXPECT_EQ(this->names(), (Names{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "Work", "Work/2026",
                                  "Work/2026/Q1"}));
  auto again = s.create_mailbox(this->ana_.id, "Work/2026/Q1", "");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::Exists);
  auto inbox = s.create_mailbox(this->ana_.id, "inbox", "");
  ASSERT_FALSE(inbox);
  EXPECT_EQ(inbox.error().code, Errc::Exists);
  // INBOX is case-insensitive as a first component too.
  ASSERT_TRUE(s.create_mailbox(this->ana_.id, "inbox/Sub", ""));
  EXPECT_TRUE(this->mailbox(this->ana_.id, "INBOX/Sub").id);
  auto special = s.create_mailbox(this->ana_.id, "Everything", "\\All");
  ASSERT_TRUE(special);
  EXPECT_EQ(this->mailbox(this->ana_.id, "Everything").special_use, "\\All");
}

TYPED_TEST(StoreImap, DeleteRemovesMessagesAndKeepsParentsAsNoselect) {
  auto& s = this->s();
  ASSERT_TRUE(s.create_mailbox(this->ana_.id, "Work/Old", ""));
  this->fill("Work", 2);
  auto before = this->reload(this->ana_);
  EXPECT_EQ(before.used_messages, 2u);
  ASSERT_TRUE(s.delete_mailbox(this->ana_.id, "Work"));
  auto work = this->mailbox(this->ana_.id, "Work");
  EXPECT_TRUE(work.noselect);
  EXPECT_EQ(work.messages, 0u);
  EXPECT_EQ(this->reload(this->ana_).used_messages, 0u);
  // No delivery into a \Noselect name.
  auto r = this->deliver(kBody, {this->copy(this->ana_.id, "", "Work")});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0]);
  // A \Noselect mailbox with children cannot be deleted; once childless it can.
  auto again = s.delete_mailbox(this->ana_.id, "Work");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::Exists);
  ASSERT_TRUE(s.delete_mailbox(this->ana_.id, "Work/Old"));
  ASSERT_TRUE(s.delete_mailbox(this->ana_.id, "Work"));
  EXPECT_EQ(this->names(), (Names{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}));
  auto inbox = s.delete_mailbox(this->ana_.id, "INBOX");
  ASSERT_FALSE(inbox);
  EXPECT_EQ(inbox.error().code, Errc::Permission);
  auto missing = s.delete_mailbox(this->ana_.id, "Nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
}

TYPED_TEST(StoreImap, RecreatingANoselectNameGivesANewUidvalidity) {
  auto& s = this->s();
  auto first = s.create_mailbox(this->ana_.id, "P/C", "");
  ASSERT_TRUE(first);
  auto parent = this->mailbox(this->ana_.id, "P");
  ASSERT_TRUE(s.delete_mailbox(this->ana_.id, "P"));
  auto again = s.create_mailbox(this->ana_.id, "P", "");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_FALSE(this->mailbox(this->ana_.id, "P").noselect);
  EXPECT_GT(again->uidvalidity, parent.uidvalidity);
}

TYPED_TEST(StoreImap, RenameMovesChildrenAndSubscriptions) {
  auto& s = this->s();
  ASSERT_TRUE(s.create_mailbox(this->ana_.id, "A/B/C", ""));
  ASSERT_TRUE(s.create_mailbox(this->ana_.id, "AB", ""));  // a sibling sharing the prefix stays
  ASSERT_TRUE(s.set_subscribed(this->ana_.id, "A/B", true));
  auto uids = this->fill("A/B", 2);
  auto uv = this->mailbox(this->ana_.id, "A/B").uidvalidity;
  ASSERT_TRUE(s.rename_mailbox(this->ana_.id, "A", "X/Y"));
  EXPECT_EQ(this->names(), (Names{"AB", "Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "X", "X/Y", "X/Y/B",
                                  "X/Y/B/C"}));
  EXPECT_EQ(this->mailbox(this->ana_.id, "X/Y/B").uidvalidity, uv);
  EXPECT_EQ(this->messages(this->ana_.id, "X/Y/B").size(), 2u);
  auto subs = s.list_subscriptions(this->ana_.id);
  ASSERT_TRUE(subs);
  EXPECT_NE(std::find(subs->begin(), subs->end(), "X/Y/B"), subs->end());
  EXPECT_EQ(std::find(subs->begin(), subs->end(), "A/B"), subs->end());
  // Refusals: target exists, source missing, into itself, onto INBOX.
  EXPECT_EQ(s.rename_mailbox(this->ana_.id, "AB", "X/Y").error().code, Errc::Exists);
  EXPECT_EQ(s.rename_mailbox(this->ana_.id, "Nope", "Q").error().code, Errc::NotFound);
  EXPECT_FALSE(s.rename_mailbox(this->ana_.id, "X", "X/Z"));
  EXPECT_FALSE(s.rename_mailbox(this->ana_.id, "AB", "inbox"));
}

TYPED_TEST(StoreImap, RenameInboxMovesItsMessagesAndLeavesItEmpty) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 3);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  ASSERT_TRUE(s.rename_mailbox(this->ana_.id, "inbox", "Old/Inbox"));
  auto after = this->mailbox(this->ana_.id, "INBOX");
  EXPECT_EQ(after.messages, 0u);
  EXPECT_EQ(after.uidvalidity, inbox.uidvalidity);
  EXPECT_EQ(after.uidnext, inbox.uidnext);
  EXPECT_TRUE(this->messages(this->ana_.id, "INBOX").empty());
  auto moved = this->messages(this->ana_.id, "Old/Inbox");
  ASSERT_EQ(moved.size(), 3u);
  // INBOX sessions learn that the messages went.
  auto ch = s.changes_since(inbox.id, inbox.highest_modseq, true);
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->expunged, uids);
  // New mail still arrives in INBOX, with fresh UIDs.
  auto more = this->fill("INBOX", 1);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0], inbox.uidnext);
  EXPECT_EQ(this->reload(this->ana_).used_messages, 4u);
}

TYPED_TEST(StoreImap, SubscriptionsAreNames) {
  auto& s = this->s();
  ASSERT_TRUE(s.set_subscribed(this->ana_.id, "Not/There", true));
  ASSERT_TRUE(s.set_subscribed(this->ana_.id, "Not/There", true));  // twice is fine
  ASSERT_TRUE(s.set_subscribed(this->ana_.id, "Junk", false));
  auto subs = s.list_subscriptions(this->ana_.id);
  ASSERT_TRUE(subs);
  EXPECT_EQ(*subs, (Names{"Archive", "Drafts", "INBOX", "Not/There", "Sent", "Trash"}));
  EXPECT_FALSE(this->mailbox(this->ana_.id, "Junk").subscribed);
  EXPECT_TRUE(this->mailbox(this->ana_.id, "Sent").subscribed);
}

TYPED_TEST(StoreImap, StoreFlagsGivesChangedMessagesOneNewModseq) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 3);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto r = s.store_flags(inbox.id, uids, FlagOp::Add, "\\seen $Label1", std::nullopt);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->messages.size(), 3u);
  for (const auto& m : r->messages) {
    EXPECT_EQ(m.flags, "\\Seen $Label1");
    EXPECT_TRUE(m.changed);
    EXPECT_EQ(m.modseq, inbox.highest_modseq + 1);
  }
  EXPECT_EQ(r->highest_modseq, inbox.highest_modseq + 1);
  // Nothing changes: no new MODSEQ.
  auto same = s.store_flags(inbox.id, uids, FlagOp::Add, "\\Seen", std::nullopt);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->messages[0].changed);
  EXPECT_EQ(same->highest_modseq, inbox.highest_modseq + 1);
  // Remove matches case-insensitively; Replace sets exactly; \Recent is never stored.
  auto rm = s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[0]}, FlagOp::Remove, "\\SEEN", std::nullopt);
  ASSERT_TRUE(rm);
  EXPECT_EQ(rm->messages[0].flags, "$Label1");
  auto rep = s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[1]}, FlagOp::Replace,
                           "\\Flagged \\Recent \\flagged", std::nullopt);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->messages[0].flags, "\\Flagged");
  // Unknown UIDs are skipped.
  auto none = s.store_flags(inbox.id, std::vector<std::uint32_t>{999}, FlagOp::Add, "\\Seen", std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->messages.empty());
  auto counts = s.count_messages(inbox.id);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->messages, 3u);
  EXPECT_EQ(counts->unseen, 2u);
  EXPECT_EQ(counts->deleted, 0u);
  EXPECT_GT(counts->size, 3 * kBody.size());
}

TYPED_TEST(StoreImap, UnchangedSinceLeavesNewerMessagesAlone) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 2);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto msgs = this->messages(this->ana_.id, "INBOX");
  // uids[1] is changed after the client's view.
  ASSERT_TRUE(s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[1]}, FlagOp::Add, "\\Answered", std::nullopt));
  auto r = s.store_flags(inbox.id, uids, FlagOp::Add, "\\Seen", msgs[1].modseq);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->modified, std::vector<std::uint32_t>{uids[1]});
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->messages[0].uid, uids[0]);
}

TYPED_TEST(StoreImap, ChangesSinceReportsNewChangedAndExpunged) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 4);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto all = s.changes_since(inbox.id, 0, false);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->messages.size(), 4u);
  EXPECT_EQ(all->mailbox.highest_modseq, inbox.highest_modseq);
  auto mark = inbox.highest_modseq;
  ASSERT_TRUE(s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[0]}, FlagOp::Add, "\\Deleted", std::nullopt));
  ASSERT_TRUE(s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[2]}, FlagOp::Add, "\\Deleted", std::nullopt));
  ASSERT_TRUE(s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[1]}, FlagOp::Add, "\\Seen", std::nullopt));
  auto removed = s.expunge_deleted(inbox.id, std::vector<std::uint32_t>{uids[0], uids[1]});
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, std::vector<std::uint32_t>{uids[0]});  // uids[2] is outside the set
  this->fill("INBOX", 1);
  auto ch = s.changes_since(inbox.id, mark, true);
  ASSERT_TRUE(ch);
  std::vector<std::uint32_t> changed;
  for (const auto& m : ch->messages) changed.push_back(m.uid);
  EXPECT_EQ(changed, (std::vector<std::uint32_t>{uids[1], uids[2], uids[3] + 1}));
  EXPECT_EQ(ch->expunged, std::vector<std::uint32_t>{uids[0]});
  EXPECT_EQ(ch->mailbox.messages, 4u);
  auto rest = s.expunge_deleted(inbox.id, std::nullopt);
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, std::vector<std::uint32_t>{uids[2]});
  ASSERT_TRUE(s.delete_mailbox(this->ana_.id, "Trash"));
  auto trash_gone = s.changes_since(this->mailbox(this->ana_.id, "INBOX").id + 100000, 0, false);
  EXPECT_FALSE(trash_gone);
}

TYPED_TEST(StoreImap, CopyAndMoveAssignNewUidsInOrder) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 3);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto archive = this->mailbox(this->ana_.id, "Archive");
  ASSERT_TRUE(s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[2]}, FlagOp::Add, "\\Flagged", std::nullopt));
  auto copied = s.copy_messages(inbox.id, std::vector<std::uint32_t>{uids[2], uids[0], 777}, archive.id, false);
  ASSERT_TRUE(copied) << copied.error().message();
  EXPECT_EQ(copied->uidvalidity, archive.uidvalidity);
  ASSERT_EQ(copied->uids.size(), 2u);
  EXPECT_EQ(copied->uids[0], std::make_pair(uids[0], archive.uidnext));
  EXPECT_EQ(copied->uids[1], std::make_pair(uids[2], archive.uidnext + 1));
  auto in_archive = this->messages(this->ana_.id, "Archive");
  ASSERT_EQ(in_archive.size(), 2u);
  EXPECT_EQ(in_archive[1].flags, "\\Flagged");
  EXPECT_EQ(*s.read_message(in_archive[0]), *s.read_message(this->messages(this->ana_.id, "INBOX")[0]));
  EXPECT_EQ(this->reload(this->ana_).used_messages, 5u);
  if (auto refs = this->blob_refs(in_archive[0].blob_id)) {
    EXPECT_EQ(*refs, 2);
  }

  auto trash = this->mailbox(this->ana_.id, "Trash");
  auto mv = s.copy_messages(inbox.id, std::vector<std::uint32_t>{uids[1]}, trash.id, true);
  ASSERT_TRUE(mv);
  ASSERT_EQ(mv->uids.size(), 1u);
  EXPECT_EQ(this->messages(this->ana_.id, "INBOX").size(), 2u);
  EXPECT_EQ(this->messages(this->ana_.id, "Trash").size(), 1u);
  EXPECT_EQ(this->reload(this->ana_).used_messages, 5u);
  auto ch = s.changes_since(inbox.id, 0, true);
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->expunged, std::vector<std::uint32_t>{uids[1]});
}

TYPED_TEST(StoreImap, CopyBeyondQuotaStoresNothingAndOtherAccountsAreRefused) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 2);
  auto used = this->reload(this->ana_).used_bytes;
  ASSERT_TRUE(s.set_quota("ana", "example.org", used + 10, 0));
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto archive = this->mailbox(this->ana_.id, "Archive");
  auto r = s.copy_messages(inbox.id, uids, archive.id, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Quota);
  EXPECT_TRUE(this->messages(this->ana_.id, "Archive").empty());
  // A move within the account always fits.
  ASSERT_TRUE(s.copy_messages(inbox.id, uids, archive.id, true));
  EXPECT_EQ(this->messages(this->ana_.id, "Archive").size(), 2u);

  auto bob = this->account("bob", "example.org");
  auto theirs = this->mailbox(bob.id, "INBOX");
  auto cross = s.copy_messages(archive.id, std::vector<std::uint32_t>{1}, theirs.id, false);
  ASSERT_FALSE(cross);
  EXPECT_EQ(cross.error().code, Errc::Permission);
  EXPECT_TRUE(this->messages(bob.id, "INBOX").empty());
}

TYPED_TEST(StoreImap, MetaIsStoredWithTheBodyAndSurvivesReopen) {
  auto& s = this->s();
  Delivery d;
  d.body = kBody;
  d.internal_date = 1;
  d.trace_id = "T";
  d.meta = std::string("structure\0with\0nul", 18);  // NULs inside: stored as a blob
  d.copies = {this->copy(this->ana_.id)};
  ASSERT_TRUE(s.deliver(std::span<const Delivery>(&d, 1)));
  // A body stored without meta gets it from a later copy, or from set_message_meta.
  auto plain = this->fill("Archive", 1);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto archive = this->mailbox(this->ana_.id, "Archive");
  auto m = s.message_meta(inbox.id, std::vector<std::uint32_t>{1, 99});
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0], d.meta);
  EXPECT_EQ((*m)[1], "");
  auto none = s.message_meta(archive.id, plain);
  ASSERT_TRUE(none);
  EXPECT_EQ((*none)[0], "");
  ASSERT_TRUE(s.set_message_meta(archive.id, plain[0], "later"));
  this->reopen();
  auto again = this->s().message_meta(archive.id, plain);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)[0], "later");
}

TYPED_TEST(StoreImap, RecentIsClaimedOnce) {
  auto& s = this->s();
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto uids = this->fill("INBOX", 2);
  auto first = s.claim_recent(inbox.id);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, uids[0]);  // both are recent for the first claimant
  auto second = s.claim_recent(inbox.id);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, uids[1] + 1);  // none for the next
  auto more = this->fill("INBOX", 1);
  auto third = s.claim_recent(inbox.id);
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, more[0]);
}

// A claim is counted at once (STATUS RECENT) and kept across a restart; one that no
// commit wrote before a crash is lost (those messages are recent once more), while one
// followed by any commit is kept.
TYPED_TEST(StoreImap, RecentClaimsAreCountedAndKept) {
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto uids = this->fill("INBOX", 2);
  auto counts = this->s().count_messages(inbox.id);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->recent, 2u);
  ASSERT_EQ(this->s().claim_recent(inbox.id).value(), uids[0]);
  EXPECT_EQ(this->s().count_messages(inbox.id).value().recent, 0u);
  this->reopen();
  EXPECT_EQ(this->s().count_messages(inbox.id).value().recent, 0u);
  EXPECT_EQ(this->s().claim_recent(inbox.id).value(), uids[1] + 1);

  auto third = this->fill("INBOX", 1);
  ASSERT_EQ(this->s().claim_recent(inbox.id).value(), third[0]);
  auto fourth = this->fill("INBOX", 1);  // its commit writes the claim of the third
  EXPECT_EQ(this->s().count_messages(inbox.id).value().recent, 1u);
  ASSERT_EQ(this->s().claim_recent(inbox.id).value(), fourth[0]);
  this->crash_and_reopen();  // the claim of the fourth was never written
  EXPECT_EQ(this->s().count_messages(inbox.id).value().recent, 1u);
  EXPECT_EQ(this->s().claim_recent(inbox.id).value(), fourth[0]);
}

TYPED_TEST(StoreImap, ReadAtReadsAnyRangeOfPrefixAndBody) {
  auto& s = this->s();
  const std::string prefix = "Delivered-To: ana@example.org\r\n";
  ASSERT_EQ(this->deliver(kBody, {this->copy(this->ana_.id, prefix)}).size(), 1u);
  auto msg = this->messages(this->ana_.id, "INBOX").at(0);
  EXPECT_EQ(msg.prefix_size, prefix.size());
  auto whole = prefix + std::string(kBody);
  auto reader = s.open_message(msg);
  ASSERT_TRUE(reader);
  for (std::size_t off : {std::size_t{0}, std::size_t{5}, prefix.size() - 2, prefix.size(), whole.size() - 3, whole.size(),
                          whole.size() + 10}) {
    char buf[16];
    auto n = (*reader)->read_at(off, buf, sizeof buf);
    ASSERT_TRUE(n);
    auto want = off >= whole.size() ? std::string() : whole.substr(off, sizeof buf);
    EXPECT_EQ(std::string(buf, *n), want) << off;
  }
  // read() keeps its own position.
  char buf[8];
  auto n = (*reader)->read(buf, sizeof buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf, *n), whole.substr(0, 8));
}

TYPED_TEST(StoreImap, ListenerHearsEveryKindOfChange) {
  auto& s = this->s();
  std::mutex mu;
  std::vector<std::pair<AccountId, MailboxId>> heard;
  s.set_change_listener([&](AccountId a, MailboxId m) {
    std::lock_guard l(mu);
    heard.emplace_back(a, m);
  });
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto archive = this->mailbox(this->ana_.id, "Archive");
  auto take = [&] {
    std::lock_guard l(mu);
    auto out = heard;
    heard.clear();
    return out;
  };
  using Heard = std::vector<std::pair<AccountId, MailboxId>>;
  auto uids = this->fill("INBOX", 1);
  EXPECT_EQ(take(), (Heard{{this->ana_.id, inbox.id}}));
  ASSERT_TRUE(s.store_flags(inbox.id, uids, FlagOp::Add, "\\Seen", std::nullopt));
  EXPECT_EQ(take(), (Heard{{this->ana_.id, inbox.id}}));
  ASSERT_TRUE(s.store_flags(inbox.id, uids, FlagOp::Add, "\\Seen", std::nullopt));
  EXPECT_TRUE(take().empty());  // nothing changed
  ASSERT_TRUE(s.copy_messages(inbox.id, uids, archive.id, true));
  EXPECT_EQ(take(), (Heard{{this->ana_.id, archive.id}, {this->ana_.id, inbox.id}}));
  ASSERT_TRUE(s.create_mailbox(this->ana_.id, "New", ""));
  EXPECT_EQ(take(), (Heard{{this->ana_.id, 0}}));
  ASSERT_TRUE(s.expunge(archive.id, std::vector<std::uint32_t>{1}));
  EXPECT_EQ(take(), (Heard{{this->ana_.id, archive.id}}));
  s.set_change_listener(nullptr);
  this->fill("INBOX", 1);
  EXPECT_TRUE(take().empty());
}

TYPED_TEST(StoreImap, BatchCommitsTogetherAndNotifiesAfter) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 2);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  auto archive = this->mailbox(this->ana_.id, "Archive");
  std::mutex mu;
  std::vector<MailboxId> heard;
  bool heard_inside = false;
  bool inside = false;
  s.set_change_listener([&](AccountId, MailboxId m) {
    std::lock_guard l(mu);
    heard.push_back(m);
    heard_inside |= inside;
  });
  Result<FlagResult> flagged = fail(Errc::Internal, "not run");
  Result<CopyOutcome> copied = fail(Errc::Internal, "not run");
  Result<CopyOutcome> refused = fail(Errc::Internal, "not run");
  auto r = s.batch([&] {
    inside = true;
    flagged = s.store_flags(inbox.id, std::vector<std::uint32_t>{uids[0]}, FlagOp::Add, "\\Seen", std::nullopt);
    refused = s.copy_messages(inbox.id, uids, inbox.id + 100000, false);  // fails alone
    copied = s.copy_messages(inbox.id, uids, archive.id, false);
    inside = false;
  });
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(flagged);
  ASSERT_TRUE(copied);
  EXPECT_FALSE(refused);
  EXPECT_FALSE(heard_inside);  // notices only after the commit
  EXPECT_EQ(sorted_ids(heard), (std::vector<MailboxId>{inbox.id, archive.id}));
  EXPECT_EQ(this->messages(this->ana_.id, "Archive").size(), 2u);
  EXPECT_EQ(this->messages(this->ana_.id, "INBOX")[0].flags, "\\Seen");
  this->reopen();  // durable
  EXPECT_EQ(this->messages(this->ana_.id, "Archive").size(), 2u);
}

TYPED_TEST(StoreImap, BatchThatThrowsRollsBackEverything) {
  auto& s = this->s();
  auto uids = this->fill("INBOX", 1);
  auto inbox = this->mailbox(this->ana_.id, "INBOX");
  EXPECT_THROW(s.batch([&] {
                 (void)s.store_flags(inbox.id, uids, FlagOp::Add, "\\Flagged", std::nullopt);
                 throw std::runtime_error("bug");
               }),
               std::runtime_error);
  EXPECT_EQ(this->messages(this->ana_.id, "INBOX")[0].flags, "");
  // The store still works.
  ASSERT_TRUE(s.store_flags(inbox.id, uids, FlagOp::Add, "\\Flagged", std::nullopt));
}

}  // namespace
}  // namespace valija::store::conformance
