// Store conformance, mail: delivery, UIDs and MODSEQs, quota, shared blobs, garbage
// collection, put_blob(), orphan sweeping and persistence across a reopen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/blob/blob_store.hpp"
#include "store/conformance/store_conformance.hpp"

namespace valija::store::conformance {
namespace {

template <class Engine>
class StoreDelivery : public StoreFixture<Engine> {};
TYPED_TEST_SUITE(StoreDelivery, Engines, EngineNames);

// ---------------- delivery ----------------

TYPED_TEST(StoreDelivery, DeliverSeveralCopiesShareOneBlob) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  const std::string pa = "Delivered-To: ana@example.org\r\n";
  const std::string pb = "Delivered-To: bob@example.org\r\nX-Extra: 1\r\n";
  auto res = this->deliver(kBody, {this->copy(ana.id, pa), this->copy(bob.id, pb), this->copy(ana.id, pa, "Archive")});
  ASSERT_EQ(res.size(), 3u);
  for (const auto& r : res) ASSERT_TRUE(r) << r.error().message();

  auto st = s.stats();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->blobs, 1u);
  EXPECT_EQ(st->blob_bytes, kBody.size());
  EXPECT_EQ(st->messages, 3u);

  auto ma = this->messages(ana.id, "INBOX");
  auto mb = this->messages(bob.id, "INBOX");
  auto mr = this->messages(ana.id, "Archive");
  ASSERT_EQ(ma.size(), 1u);
  ASSERT_EQ(mb.size(), 1u);
  ASSERT_EQ(mr.size(), 1u);
  EXPECT_EQ(ma[0].blob_id, mb[0].blob_id);
  EXPECT_EQ(ma[0].blob_id, mr[0].blob_id);
  EXPECT_EQ(ma[0].blob_id.size(), 64u);
  EXPECT_EQ(ma[0].size, pa.size() + kBody.size());
  EXPECT_EQ(mb[0].size, pb.size() + kBody.size());
  EXPECT_EQ(ma[0].trace_id, "TRACE1");
  EXPECT_EQ(ma[0].internal_date, 1700000000);
  if (auto refs = this->blob_refs(ma[0].blob_id)) {
    EXPECT_EQ(*refs, 3);
  }
  if (auto stored = this->blob_stored(ma[0].blob_id)) {
    EXPECT_TRUE(*stored);
  }

  EXPECT_EQ(*s.read_message(ma[0]), pa + std::string(kBody));
  EXPECT_EQ(*s.read_message(mb[0]), pb + std::string(kBody));

  EXPECT_EQ(res[0]->mailbox, this->mailbox(ana.id, "INBOX").id);
  EXPECT_EQ(res[1]->mailbox, this->mailbox(bob.id, "INBOX").id);
  EXPECT_EQ(res[2]->mailbox, this->mailbox(ana.id, "Archive").id);
}

// A special use instead of a name: the mailbox that has it, whatever the user renamed it
// to; INBOX when the account has none.
TYPED_TEST(StoreDelivery, DeliverToSpecialUseFolder) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  ASSERT_TRUE(s.rename_mailbox(ana.id, "Junk", "Spam"));
  auto res = this->deliver(kBody, {this->copy(ana.id, "P: 1\r\n", "\\Junk")});
  ASSERT_TRUE(res.at(0)) << res.at(0).error().message();
  EXPECT_EQ(this->messages(ana.id, "Spam").size(), 1u);
  EXPECT_EQ(this->messages(ana.id, "INBOX").size(), 0u);
  ASSERT_TRUE(s.delete_mailbox(ana.id, "Spam"));
  res = this->deliver(kBody, {this->copy(ana.id, "P: 2\r\n", "\\Junk")});
  ASSERT_TRUE(res.at(0)) << res.at(0).error().message();
  EXPECT_EQ(this->messages(ana.id, "INBOX").size(), 1u);
}

TYPED_TEST(StoreDelivery, DeliverUidsModseqAndUidValidity) {
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto before = this->mailbox(ana.id, "INBOX");
  std::vector<std::uint32_t> uids;
  for (int i = 0; i < 3; ++i) {
    auto body = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
    auto res = this->deliver(body, {this->copy(ana.id)});
    ASSERT_TRUE(res.at(0)) << res[0].error().message();
    EXPECT_EQ(res[0]->uidvalidity, before.uidvalidity);
    EXPECT_EQ(res[0]->mailbox, before.id);
    uids.push_back(res[0]->uid);
  }
  EXPECT_EQ(uids, (std::vector<std::uint32_t>{1, 2, 3}));

  auto after = this->mailbox(ana.id, "INBOX");
  EXPECT_EQ(after.uidvalidity, before.uidvalidity);
  EXPECT_EQ(after.uidnext, 4u);
  EXPECT_EQ(after.messages, 3u);
  auto msgs = this->messages(ana.id, "INBOX");
  ASSERT_EQ(msgs.size(), 3u);
  std::uint64_t prev = before.highest_modseq;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].uid, i + 1);
    EXPECT_GT(msgs[i].modseq, prev);
    prev = msgs[i].modseq;
  }
  EXPECT_EQ(after.highest_modseq, prev);

  // Another mailbox counts its own UIDs.
  auto sent = this->deliver("x\r\n", {this->copy(ana.id, "", "Sent")});
  ASSERT_TRUE(sent.at(0));
  EXPECT_EQ(sent[0]->uid, 1u);
  EXPECT_EQ(sent[0]->uidvalidity, this->mailbox(ana.id, "Sent").uidvalidity);
}

TYPED_TEST(StoreDelivery, DeliverUpdatesUsage) {
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  const std::string prefix = "Delivered-To: ana@example.org\r\n";
  ASSERT_TRUE(this->deliver(kBody, {this->copy(ana.id, prefix)}).at(0));
  ASSERT_TRUE(this->deliver("second\r\n", {this->copy(ana.id)}).at(0));
  auto a = this->reload(ana);
  EXPECT_EQ(a.used_bytes, prefix.size() + kBody.size() + 8);
  EXPECT_EQ(a.used_messages, 2u);
}

TYPED_TEST(StoreDelivery, ReadMessageIsByteExact) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  std::string body = "Subject: binary\r\n\r\n";
  for (int i = 0; i < 256; ++i) body += static_cast<char>(i);
  body += "\r\n.\r\nno final newline";
  std::string prefix("Received: from x\r\n\tby y; \0 NUL\r\n", 33);
  Copy c = this->copy(ana.id, prefix);
  c.flags = "\\Seen $Forwarded";
  auto res = this->deliver(body, {c});
  ASSERT_TRUE(res.at(0));
  auto msgs = this->messages(ana.id, "INBOX");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].flags, "\\Seen $Forwarded");
  EXPECT_EQ(msgs[0].size, prefix.size() + body.size());
  auto whole = s.read_message(msgs[0]);
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_EQ(whole->size(), prefix.size() + body.size());
  EXPECT_EQ(*whole, prefix + body);
}

TYPED_TEST(StoreDelivery, DeliverQuotaFailsOnlyThatCopy) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org", /*quota=*/kBody.size() / 2);
  auto bob = this->account("bob", "example.org");
  auto res = this->deliver(kBody, {this->copy(ana.id), this->copy(bob.id)});
  ASSERT_EQ(res.size(), 2u);
  ASSERT_FALSE(res[0]);
  EXPECT_EQ(res[0].error().code, Errc::Quota);
  ASSERT_TRUE(res[1]) << res[1].error().message();
  EXPECT_EQ(res[1]->uid, 1u);

  // The refused copy left nothing behind: no message, no usage, no UID spent.
  EXPECT_TRUE(this->messages(ana.id, "INBOX").empty());
  auto inbox = this->mailbox(ana.id, "INBOX");
  EXPECT_EQ(inbox.uidnext, 1u);
  EXPECT_EQ(inbox.messages, 0u);
  EXPECT_EQ(this->reload(ana).used_bytes, 0u);
  EXPECT_EQ(this->reload(ana).used_messages, 0u);
  EXPECT_EQ(s.stats()->messages, 1u);
  auto blob_id = this->messages(bob.id, "INBOX").at(0).blob_id;
  if (auto refs = this->blob_refs(blob_id)) {
    EXPECT_EQ(*refs, 1);
  }

  // The grace flag lets a copy in over quota.
  Copy grace = this->copy(ana.id);
  grace.allow_over_quota = true;
  res = this->deliver(kBody, {grace});
  ASSERT_TRUE(res.at(0)) << res[0].error().message();
  EXPECT_EQ(res[0]->uid, 1u);
  EXPECT_GT(this->reload(ana).used_bytes, this->reload(ana).quota_bytes);

  // And once over, a plain copy is refused even when small.
  res = this->deliver("x", {this->copy(ana.id)});
  ASSERT_FALSE(res.at(0));
  EXPECT_EQ(res[0].error().code, Errc::Quota);
}

TYPED_TEST(StoreDelivery, DeliverQuotaCountsThisBatch) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  const std::uint64_t one = kBody.size();
  ASSERT_TRUE(s.set_quota("ana", "example.org", one + one / 2, 0));
  // Two copies for the same account in one delivery: the second no longer fits.
  auto res = this->deliver(kBody, {this->copy(ana.id), this->copy(ana.id, "", "Archive")});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_TRUE(res[0]);
  ASSERT_FALSE(res[1]);
  EXPECT_EQ(res[1].error().code, Errc::Quota);
  EXPECT_EQ(this->reload(ana).used_bytes, one);
}

TYPED_TEST(StoreDelivery, DeliverMessageQuota) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  ASSERT_TRUE(s.set_quota("ana", "example.org", 0, 2));
  EXPECT_TRUE(this->deliver("1\r\n", {this->copy(ana.id)}).at(0));
  EXPECT_TRUE(this->deliver("2\r\n", {this->copy(ana.id)}).at(0));
  auto third = this->deliver("3\r\n", {this->copy(ana.id)});
  ASSERT_FALSE(third.at(0));
  EXPECT_EQ(third[0].error().code, Errc::Quota);
  EXPECT_EQ(this->reload(ana).used_messages, 2u);
}

TYPED_TEST(StoreDelivery, DeliverUnknownMailboxOrAccountFailsThatCopy) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  auto res = this->deliver(kBody, {this->copy(ana.id, "", "No Such Box"), this->copy(bob.id),
                                   this->copy(ana.id + bob.id + 1000)});
  ASSERT_EQ(res.size(), 3u);
  ASSERT_FALSE(res[0]);
  EXPECT_EQ(res[0].error().code, Errc::NotFound);
  ASSERT_TRUE(res[1]) << res[1].error().message();
  ASSERT_FALSE(res[2]);
  EXPECT_EQ(res[2].error().code, Errc::NotFound);
  EXPECT_EQ(s.stats()->messages, 1u);
  EXPECT_EQ(this->reload(ana).used_messages, 0u);
  EXPECT_EQ(this->reload(bob).used_messages, 1u);
}

TYPED_TEST(StoreDelivery, DeliverBatchOfSeveralDeliveries) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  const std::vector<std::string> bodies{"one\r\n", "two\r\n", "three\r\n"};
  std::vector<Delivery> batch(3);
  for (std::size_t i = 0; i < 3; ++i) {
    batch[i].body = bodies[i];
    batch[i].internal_date = 1700000000 + static_cast<std::int64_t>(i);
    batch[i].trace_id = "T" + std::to_string(i);
    batch[i].copies.push_back(this->copy(ana.id));
    if (i != 1) batch[i].copies.push_back(this->copy(bob.id));
  }
  auto r = s.deliver(batch);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].size(), 2u);
  EXPECT_EQ((*r)[1].size(), 1u);
  EXPECT_EQ((*r)[2].size(), 2u);
  for (const auto& d : *r)
    for (const auto& c : d) EXPECT_TRUE(c);
  // Results come back in order: ana's UIDs follow the batch order.
  EXPECT_EQ((*r)[0][0]->uid, 1u);
  EXPECT_EQ((*r)[1][0]->uid, 2u);
  EXPECT_EQ((*r)[2][0]->uid, 3u);
  EXPECT_EQ((*r)[0][1]->uid, 1u);
  EXPECT_EQ((*r)[2][1]->uid, 2u);

  auto st = s.stats();
  EXPECT_EQ(st->blobs, 3u);
  EXPECT_EQ(st->messages, 5u);
  auto msgs = this->messages(ana.id, "INBOX");
  ASSERT_EQ(msgs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*s.read_message(msgs[i]), bodies[i]);
    EXPECT_EQ(msgs[i].trace_id, "T" + std::to_string(i));
    EXPECT_EQ(msgs[i].internal_date, 1700000000 + static_cast<std::int64_t>(i));
  }
}

TYPED_TEST(StoreDelivery, DeliverEmptyBatch) {
  auto r = this->s().deliver(std::span<const Delivery>());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->empty());
}

TYPED_TEST(StoreDelivery, IdenticalBodiesShareOneBlob) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  ASSERT_TRUE(this->deliver(kBody, {this->copy(ana.id, "A\r\n")}).at(0));
  ASSERT_TRUE(this->deliver(kBody, {this->copy(bob.id, "B\r\n")}).at(0));
  auto st = s.stats();
  EXPECT_EQ(st->blobs, 1u);
  EXPECT_EQ(st->messages, 2u);
  auto id = this->messages(ana.id, "INBOX").at(0).blob_id;
  EXPECT_EQ(this->messages(bob.id, "INBOX").at(0).blob_id, id);
  if (auto refs = this->blob_refs(id)) {
    EXPECT_EQ(*refs, 2);
  }
}

TYPED_TEST(StoreDelivery, RemoveAccountReleasesBlobsAndGarbageCollects) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  // shared: ana and bob; only_ana: ana alone (twice).
  ASSERT_TRUE(this->deliver("shared\r\n", {this->copy(ana.id), this->copy(bob.id)}).at(0));
  ASSERT_TRUE(this->deliver("only ana\r\n", {this->copy(ana.id), this->copy(ana.id, "", "Archive")}).at(0));
  auto shared = this->messages(bob.id, "INBOX").at(0).blob_id;
  std::string only_ana;
  for (const auto& m : this->messages(ana.id, "INBOX"))
    if (m.blob_id != shared) only_ana = m.blob_id;
  ASSERT_FALSE(only_ana.empty());
  EXPECT_EQ(s.stats()->blobs, 2u);

  // Nothing is garbage while referenced.
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 0u);

  ASSERT_TRUE(s.remove_account("ana", "example.org"));
  if (auto refs = this->blob_refs(shared)) {
    EXPECT_EQ(*refs, 1);
  }
  if (auto refs = this->blob_refs(only_ana)) {
    EXPECT_EQ(*refs, 0);
  }
  EXPECT_EQ(s.stats()->messages, 1u);

  gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
  EXPECT_EQ(s.stats()->blobs, 1u);
  if (auto stored = this->blob_stored(only_ana)) {
    EXPECT_FALSE(*stored);
  }
  if (auto stored = this->blob_stored(shared)) {
    EXPECT_TRUE(*stored);
  }
  auto left = this->messages(bob.id, "INBOX");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(*s.read_message(left[0]), "shared\r\n");

  // A second pass finds nothing more.
  gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 0u);

  // The last reference gone, the shared body goes too.
  ASSERT_TRUE(s.remove_account("bob", "example.org"));
  gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
  if (auto stored = this->blob_stored(shared)) {
    EXPECT_FALSE(*stored);
  }
  EXPECT_EQ(s.stats()->blobs, 0u);
}

// A copy refused for quota holds no reference: once the stored copy is gone, the
// body is garbage.
// POP3 QUIT and IMAP EXPUNGE: messages go in one step, usage and references drop, each
// expunge is a change (MODSEQ), and a body shared with another mailbox stays.
TYPED_TEST(StoreDelivery, ExpungeRemovesMessagesDurably) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  ASSERT_TRUE(this->deliver("one\r\n", {this->copy(ana.id, "P1\r\n")}).at(0));
  ASSERT_TRUE(this->deliver("two\r\n", {this->copy(ana.id, "P2\r\n"), this->copy(bob.id)}).at(0));
  ASSERT_TRUE(this->deliver("three\r\n", {this->copy(ana.id, "P3\r\n")}).at(0));
  auto inbox = s.find_mailbox(ana.id, "INBOX").value().value();
  auto before = this->reload(ana);
  std::vector<std::uint32_t> uids{1, 2, 99};  // 99: no such message, skipped
  auto n = s.expunge(inbox.id, uids);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 2u);
  auto left = this->messages(ana.id, "INBOX");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].uid, 3u);
  EXPECT_EQ(*s.read_message(left[0]), "P3\r\nthree\r\n");
  auto after = this->reload(ana);
  EXPECT_EQ(after.used_messages, before.used_messages - 2);
  EXPECT_EQ(after.used_bytes, before.used_bytes - (4 + 5) - (4 + 5));
  auto mb = s.find_mailbox(ana.id, "INBOX").value().value();
  EXPECT_EQ(mb.messages, 1u);
  EXPECT_EQ(mb.highest_modseq, inbox.highest_modseq + 2);
  EXPECT_EQ(mb.uidnext, inbox.uidnext);  // UIDs are never reused
  // Again: nothing left to remove.
  n = s.expunge(inbox.id, uids);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  // "one" is garbage now; "two" is still bob's.
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
  EXPECT_EQ(*s.read_message(this->messages(bob.id, "INBOX").at(0)), "two\r\n");
  // It survives a reopen (durable).
  this->reopen();
  EXPECT_EQ(this->messages(ana.id, "INBOX").size(), 1u);
}

// POP3 RETR streams messages: any piece size gives the same octets as read_message,
// and a reader keeps working when the message is expunged and collected meanwhile.
TYPED_TEST(StoreDelivery, OpenMessageReadsInPieces) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  std::string body;
  for (int i = 0; i < 3000; ++i) body += "line " + std::to_string(i) + " of a longer message\r\n";
  ASSERT_TRUE(this->deliver(body, {this->copy(ana.id, "Prefix: yes\r\n")}).at(0));
  auto m = this->messages(ana.id, "INBOX").at(0);
  auto whole = s.read_message(m);
  ASSERT_TRUE(whole);
  for (std::size_t piece : {1u, 7u, 4096u, 1000000u}) {
    auto r = s.open_message(m);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ((*r)->size(), whole->size());
    std::string got;
    std::vector<char> buf(piece);
    while (true) {
      auto n = (*r)->read(buf.data(), buf.size());
      ASSERT_TRUE(n) << n.error().message();
      if (*n == 0) break;
      got.append(buf.data(), *n);
    }
    EXPECT_EQ(got, *whole) << "piece " << piece;
  }
  auto r = s.open_message(m);
  ASSERT_TRUE(r);
  char first[5];
  ASSERT_EQ(*(*r)->read(first, 5), 5u);
  auto inbox = s.find_mailbox(ana.id, "INBOX").value().value();
  std::vector<std::uint32_t> uids{m.uid};
  ASSERT_EQ(*s.expunge(inbox.id, uids), 1u);
  ASSERT_TRUE(s.collect_garbage());
  std::string rest(whole->size(), '\0');
  std::size_t done = 0;
  while (done < rest.size()) {
    auto n = (*r)->read(rest.data() + done, rest.size() - done);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    done += *n;
  }
  EXPECT_EQ(std::string(first, 5) + rest.substr(0, done), *whole);
  auto gone = s.open_message(m);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::NotFound);
}

TYPED_TEST(StoreDelivery, RefusedCopiesHoldNoBlobReference) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org", 1);
  auto bob = this->account("bob", "example.org");
  auto res = this->deliver(kBody, {this->copy(ana.id), this->copy(bob.id), this->copy(ana.id, "", "Nope")});
  ASSERT_EQ(res.size(), 3u);
  EXPECT_FALSE(res[0]);
  EXPECT_TRUE(res[1]);
  EXPECT_FALSE(res[2]);
  auto id = this->messages(bob.id, "INBOX").at(0).blob_id;
  ASSERT_TRUE(s.remove_account("bob", "example.org"));
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
  if (auto stored = this->blob_stored(id)) {
    EXPECT_FALSE(*stored);
  }
}

// A body whose last copy was removed but not yet collected can be delivered again;
// the collector must then keep it.
TYPED_TEST(StoreDelivery, RedeliveryBeforeCollectionRevivesBlob) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  ASSERT_TRUE(this->deliver(kBody, {this->copy(ana.id)}).at(0));
  auto id = this->messages(ana.id, "INBOX").at(0).blob_id;
  ASSERT_TRUE(s.remove_account("ana", "example.org"));
  ASSERT_TRUE(this->deliver(kBody, {this->copy(bob.id)}).at(0));
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 0u);
  if (auto stored = this->blob_stored(id)) {
    EXPECT_TRUE(*stored);
  }
  auto msgs = this->messages(bob.id, "INBOX");
  ASSERT_EQ(msgs.size(), 1u);
  auto whole = s.read_message(msgs[0]);
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_EQ(*whole, kBody);
}

// ---------------- put_blob: bodies stored before the commit ----------------

TYPED_TEST(StoreDelivery, PutBlobThenDeliverById) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  auto id = s.put_blob(kBody);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(id->size(), 64u);
  EXPECT_EQ(id->find_first_not_of("0123456789abcdef"), std::string::npos) << *id;
  auto again = s.put_blob(kBody);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *id);
  if (auto f = this->blob_file(*id)) {
    EXPECT_TRUE(fs::exists(*f)) << *f;
  }

  auto res = this->deliver(kBody, {this->copy(ana.id, "A\r\n"), this->copy(bob.id, "B\r\n")}, *id);
  ASSERT_EQ(res.size(), 2u);
  ASSERT_TRUE(res[0] && res[1]);
  // The second put_blob's pin is released by a second delivery naming it.
  ASSERT_TRUE(this->deliver(kBody, {this->copy(ana.id)}, *id).at(0));
  auto st = s.stats();
  EXPECT_EQ(st->blobs, 1u);
  EXPECT_EQ(st->blob_bytes, kBody.size());
  EXPECT_EQ(st->messages, 3u);
  auto msgs = this->messages(ana.id, "INBOX");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].blob_id, *id);
  EXPECT_EQ(msgs[0].size, 3 + kBody.size());
  EXPECT_EQ(*s.read_message(msgs[0]), "A\r\n" + std::string(kBody));
  EXPECT_EQ(*s.read_message(this->messages(bob.id, "INBOX").at(0)), "B\r\n" + std::string(kBody));
  if (auto refs = this->blob_refs(*id)) {
    EXPECT_EQ(*refs, 3);
  }
  EXPECT_EQ(this->reload(ana).used_bytes, 3 + kBody.size() + kBody.size());

  // Delivered, the body is an ordinary blob again: collected with its last reference.
  ASSERT_TRUE(s.remove_account("ana", "example.org"));
  ASSERT_TRUE(s.remove_account("bob", "example.org"));
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
  if (auto f = this->blob_file(*id)) {
    EXPECT_FALSE(fs::exists(*f)) << *f;
  }
}

// put_blob() of a body whose only row has no references left (its account was just
// removed) must not lose the file to a collection that runs before the delivery.
TYPED_TEST(StoreDelivery, PutBlobIsProtectedFromCollectionUntilDelivered) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  ASSERT_TRUE(this->deliver(kBody, {this->copy(ana.id)}).at(0));
  ASSERT_TRUE(s.remove_account("ana", "example.org"));

  auto id = s.put_blob(kBody);
  ASSERT_TRUE(id) << id.error().message();
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 0u);
  if (auto f = this->blob_file(*id)) {
    EXPECT_TRUE(fs::exists(*f)) << *f;
  }
  auto sweep = s.sweep_orphans();
  ASSERT_TRUE(sweep) << sweep.error().message();
  if (auto f = this->blob_file(*id)) {
    EXPECT_TRUE(fs::exists(*f)) << *f;
  }

  ASSERT_TRUE(this->deliver(kBody, {this->copy(bob.id)}, *id).at(0));
  gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 0u);
  auto msgs = this->messages(bob.id, "INBOX");
  ASSERT_EQ(msgs.size(), 1u);
  auto whole = s.read_message(msgs[0]);
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_EQ(*whole, kBody);
}

// A body put but never delivered is protected while this store runs, and is an orphan
// for the next start (the crash case) to sweep.
TYPED_TEST(StoreDelivery, UndeliveredPutBlobIsSweptAfterRestart) {
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  ASSERT_TRUE(this->deliver("kept\r\n", {this->copy(ana.id)}).at(0));
  auto id = this->s().put_blob("never delivered\r\n");
  ASSERT_TRUE(id);
  auto sweep = this->s().sweep_orphans();
  ASSERT_TRUE(sweep);
  EXPECT_EQ(*sweep, 0u);

  this->reopen();
  sweep = this->s().sweep_orphans();
  ASSERT_TRUE(sweep) << sweep.error().message();
  EXPECT_EQ(*sweep, 1u);
  if (auto f = this->blob_file(*id)) {
    EXPECT_FALSE(fs::exists(*f)) << *f;
  }
  auto msgs = this->messages(ana.id, "INBOX");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(*this->s().read_message(msgs[0]), "kept\r\n");
}

TYPED_TEST(StoreDelivery, SweepOrphansRemovesOnlyLeftovers) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  auto bob = this->account("bob", "example.org");
  ASSERT_TRUE(this->deliver("live\r\n", {this->copy(ana.id)}).at(0));
  ASSERT_TRUE(this->deliver("unreferenced\r\n", {this->copy(bob.id)}).at(0));
  const auto live = this->messages(ana.id, "INBOX").at(0).blob_id;
  const auto unreferenced = this->messages(bob.id, "INBOX").at(0).blob_id;
  ASSERT_TRUE(s.remove_account("bob", "example.org"));  // refs 0, not yet collected

  auto root = this->blob_root();
  if (!root) {
    auto sweep = s.sweep_orphans();
    ASSERT_TRUE(sweep) << sweep.error().message();
    GTEST_SKIP() << "engine does not keep bodies as files";
  }
  // What a crash leaves: a body written but never committed, and a dead writer's temp file.
  const std::string orphan_body = "orphan\r\n";
  auto orphan = this->s().put_blob(orphan_body);  // the file, as a crashed delivery leaves it
  ASSERT_TRUE(orphan);
  this->reopen();  // forget the pin: the writer "crashed"
  auto& s2 = this->s();
  const fs::path dead_temp = *root / "ab" / ".tmp.999999999.3";  // no such pid (pid_max <= 2^22)
  std::ofstream(dead_temp) << "partial";
  const fs::path live_temp = *root / "cd" / (store::blob::BlobStore::temp_prefix() + "5");  // in flight
  std::ofstream(live_temp) << "writing";
  const fs::path stray = *root / "ef" / "README";  // not ours to judge
  std::ofstream(stray) << "x";

  auto sweep = s2.sweep_orphans();
  ASSERT_TRUE(sweep) << sweep.error().message();
  EXPECT_EQ(*sweep, 2u);
  EXPECT_FALSE(fs::exists(*this->blob_file(*orphan)));
  EXPECT_FALSE(fs::exists(dead_temp));
  EXPECT_TRUE(fs::exists(live_temp));
  EXPECT_TRUE(fs::exists(stray));
  EXPECT_EQ(this->blob_stored(live), true);
  EXPECT_EQ(this->blob_stored(unreferenced), true);  // the collector's, not the sweep's
  EXPECT_EQ(*s2.read_message(this->messages(ana.id, "INBOX").at(0)), "live\r\n");

  auto again = s2.sweep_orphans();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

// ---------------- persistence ----------------

TYPED_TEST(StoreDelivery, ReopenKeepsEverything) {
  this->domain("example.org");
  this->domain("another.test");
  auto ana = this->account("ana", "example.org", 123456);
  ASSERT_TRUE(this->s().set_password("ana", "example.org", "stored-hash"));
  std::vector<std::string> targets{"ana@example.org", "x@elsewhere.test"};
  ASSERT_TRUE(this->s().add_alias("team", "example.org", targets));
  ASSERT_TRUE(this->s().add_alias("", "another.test", targets));
  ASSERT_TRUE(this->deliver(kBody, {this->copy(ana.id, "P1\r\n")}).at(0));
  ASSERT_TRUE(this->deliver("second\r\n", {this->copy(ana.id, "P2\r\n")}).at(0));
  auto inbox_before = this->mailbox(ana.id, "INBOX");
  auto msgs_before = this->messages(ana.id, "INBOX");
  auto stats_before = *this->s().stats();

  this->reopen();
  auto& s = this->s();

  auto domains = s.list_domains();
  ASSERT_TRUE(domains);
  EXPECT_EQ(domains->size(), 2u);
  auto a = s.find_account("ana", "example.org");
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ((*a)->id, ana.id);
  EXPECT_EQ((*a)->password_hash, "stored-hash");
  EXPECT_EQ((*a)->quota_bytes, 123456u);
  EXPECT_EQ((*a)->used_messages, 2u);
  EXPECT_EQ((*a)->used_bytes, 4 + kBody.size() + 4 + 8);
  auto al = s.find_alias("team", "example.org");
  ASSERT_TRUE(al && al->has_value());
  EXPECT_EQ(sorted((*al)->targets), sorted(targets));
  EXPECT_TRUE(s.find_alias("", "another.test")->has_value());
  EXPECT_EQ(s.list_mailboxes(ana.id)->size(), 6u);

  auto inbox = this->mailbox(ana.id, "INBOX");
  EXPECT_EQ(inbox.uidvalidity, inbox_before.uidvalidity);
  EXPECT_EQ(inbox.uidnext, 3u);
  EXPECT_EQ(inbox.highest_modseq, inbox_before.highest_modseq);
  auto msgs = this->messages(ana.id, "INBOX");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(*s.read_message(msgs[0]), "P1\r\n" + std::string(kBody));
  EXPECT_EQ(*s.read_message(msgs[1]), "P2\r\nsecond\r\n");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(msgs[i].uid, msgs_before[i].uid);
    EXPECT_EQ(msgs[i].modseq, msgs_before[i].modseq);
    EXPECT_EQ(msgs[i].blob_id, msgs_before[i].blob_id);
  }
  auto st = s.stats();
  EXPECT_EQ(st->blobs, stats_before.blobs);
  EXPECT_EQ(st->messages, stats_before.messages);

  // UIDs continue where they left off.
  auto res = this->deliver("third\r\n", {this->copy(ana.id)});
  ASSERT_TRUE(res.at(0));
  EXPECT_EQ(res[0]->uid, 3u);
  EXPECT_EQ(res[0]->uidvalidity, inbox_before.uidvalidity);
}

}  // namespace
}  // namespace valija::store::conformance
