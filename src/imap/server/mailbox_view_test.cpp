// The selected mailbox's view: sequence numbers, absorbing changes made elsewhere, and
// announcing them only where RFC 9051 §7.5.1 allows.
#include "imap/server/mailbox_view.hpp"

#include <gtest/gtest.h>

namespace valija::imap::server {
namespace {

store::MessageInfo msg(std::uint32_t uid, std::uint64_t modseq, std::string flags = "") {
  store::MessageInfo m;
  m.uid = uid;
  m.modseq = modseq;
  m.flags = std::move(flags);
  m.size = 100;
  return m;
}

store::MailboxChanges changes(std::uint64_t highest, std::vector<store::MessageInfo> msgs,
                              std::vector<std::uint32_t> expunged = {}) {
  store::MailboxChanges c;
  c.mailbox.id = 7;
  c.mailbox.uidvalidity = 42;
  c.mailbox.highest_modseq = highest;
  c.messages = std::move(msgs);
  c.expunged = std::move(expunged);
  return c;
}

MailboxView three() {
  MailboxView v;
  v.reset(changes(5, {msg(10, 2), msg(11, 3, "\\Seen"), msg(12, 5)}), 12);
  return v;
}

TEST(MailboxView, ResetNumbersMessagesByUid) {
  auto v = three();
  EXPECT_EQ(v.exists(), 3u);
  EXPECT_EQ(v.at(2).info.uid, 11u);
  EXPECT_EQ(v.seq_of(12), 3u);
  EXPECT_FALSE(v.seq_of(13));
  EXPECT_EQ(v.recent_count(), 1u);
  EXPECT_EQ(v.highest_modseq(), 5u);
  EXPECT_FALSE(v.has_pending());
}

TEST(MailboxView, NewMessagesAreAnnouncedWithExistsAndRecent) {
  auto v = three();
  v.absorb(changes(7, {msg(13, 6), msg(14, 7)}), 14);
  EXPECT_EQ(v.exists(), 3u);  // not before the announcement
  std::string out;
  v.announce(out, AnnounceOptions{});
  EXPECT_EQ(out, "* 5 EXISTS\r\n* 2 RECENT\r\n");
  EXPECT_EQ(v.exists(), 5u);
  EXPECT_EQ(v.highest_modseq(), 7u);
  out.clear();
  v.announce(out, AnnounceOptions{});
  EXPECT_EQ(out, "");
}

TEST(MailboxView, ExpungesWaitUntilAllowedAndRenumberInOrder) {
  auto v = three();
  v.absorb(changes(9, {}, {10, 12}), UINT32_MAX);
  std::string out;
  AnnounceOptions no_expunge;
  no_expunge.expunges = false;
  v.announce(out, no_expunge);
  EXPECT_EQ(out, "");
  EXPECT_EQ(v.exists(), 3u);  // the client's numbers still hold
  EXPECT_TRUE(v.at(1).expunged);
  EXPECT_TRUE(v.has_pending());
  v.announce(out, AnnounceOptions{});
  EXPECT_EQ(out, "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\n");
  EXPECT_EQ(v.exists(), 1u);
  EXPECT_EQ(v.at(1).info.uid, 11u);
}

TEST(MailboxView, QresyncSessionsGetVanished) {
  auto v = three();
  v.absorb(changes(9, {}, {10, 11, 99}), UINT32_MAX);
  std::string out;
  AnnounceOptions o;
  o.vanished = true;
  v.announce(out, o);
  EXPECT_EQ(out, "* VANISHED 10:11\r\n");
  EXPECT_EQ(v.exists(), 1u);
}

TEST(MailboxView, FlagChangesElsewhereBecomeFetches) {
  auto v = three();
  v.absorb(changes(8, {msg(11, 8, "\\Seen \\Flagged")}), UINT32_MAX);
  std::string out;
  AnnounceOptions o;
  o.modseq = true;
  o.uid = true;
  v.announce(out, o);
  EXPECT_EQ(out, "* 2 FETCH (UID 11 FLAGS (\\Seen \\Flagged) MODSEQ (8))\r\n");
}

TEST(MailboxView, OwnChangesAreNotEchoed) {
  auto v = three();
  v.flags_by_us(10, "\\Deleted", 6);
  EXPECT_EQ(v.highest_modseq(), 5u);  // what was absorbed, not what was written
  v.absorb(changes(6, {msg(10, 6, "\\Deleted")}), UINT32_MAX);
  std::string out;
  v.announce(out, AnnounceOptions{});
  EXPECT_EQ(out, "");
}

TEST(MailboxView, ExpungedByUsGoesOutAtOnceUnannouncedOnesSilently) {
  auto v = three();
  v.absorb(changes(7, {msg(13, 7)}), UINT32_MAX);  // not announced yet
  std::string out;
  v.expunged_by_us(std::vector<std::uint32_t>{11, 13}, out, AnnounceOptions{});
  EXPECT_EQ(out, "* 2 EXPUNGE\r\n");
  EXPECT_EQ(v.exists(), 2u);
  EXPECT_FALSE(v.seq_of(13));
}

TEST(MailboxView, NewAndExpungedTogetherKeepExistsConsistent) {
  auto v = three();
  v.absorb(changes(9, {msg(13, 8)}, {10}), UINT32_MAX);
  std::string out;
  AnnounceOptions no_expunge;
  no_expunge.expunges = false;
  v.announce(out, no_expunge);
  EXPECT_EQ(out, "* 4 EXISTS\r\n");  // 10 still counts until its EXPUNGE
  out.clear();
  v.announce(out, AnnounceOptions{});
  EXPECT_EQ(out, "* 1 EXPUNGE\r\n");
  EXPECT_EQ(v.exists(), 3u);
}

TEST(MailboxView, Rev2SessionsSeeNoRecent) {
  auto v = three();
  v.absorb(changes(6, {msg(13, 6)}), 13);
  std::string out;
  AnnounceOptions o;
  o.recent = false;
  v.announce(out, o);
  EXPECT_EQ(out, "* 4 EXISTS\r\n");
  std::string flags;
  write_flags(flags, v.at(4), false);
  EXPECT_EQ(flags, "()");
  flags.clear();
  write_flags(flags, v.at(4), true);
  EXPECT_EQ(flags, "(\\Recent)");
}

}  // namespace
}  // namespace valija::imap::server
