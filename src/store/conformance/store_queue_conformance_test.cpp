// Store conformance, the outbound queue: entries queued with a delivery (body shared
// with local copies), due recipients, attempts, removal with the body reference, and
// persistence across a reopen.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/conformance/store_conformance.hpp"

namespace valija::store::conformance {
namespace {

template <class Engine>
class StoreQueue : public StoreFixture<Engine> {
 protected:
  static QueuedRecipient rcpt(std::string address, std::string domain, std::int64_t next = 0) {
    QueuedRecipient r;
    r.address = std::move(address);
    r.domain = std::move(domain);
    r.next_attempt = next;
    return r;
  }
  // Queues body for these recipients, with local copies when given.
  void queue(std::string_view body, std::vector<QueuedRecipient> rcpts, std::vector<Copy> copies = {},
             std::string trace = "Q1") {
    Delivery d;
    d.body = body;
    d.internal_date = 1700000000;
    d.trace_id = std::move(trace);
    d.copies = std::move(copies);
    Outbound o;
    o.sender = "ana@example.org";
    o.prefix = "Received: from x\r\n";
    o.envid = "env-1";
    o.ret = 1;
    o.eight_bit = true;
    o.origin = "submission ana@example.org";
    o.rcpts = std::move(rcpts);
    d.outbound = std::move(o);
    auto r = this->s().deliver(std::span<const Delivery>(&d, 1));
    ASSERT_TRUE(r) << r.error().message();
  }
  std::vector<QueueEntry> all() {
    auto l = this->s().list_queue();
    EXPECT_TRUE(l) << l.error().message();
    return l ? *l : std::vector<QueueEntry>{};
  }
  std::vector<QueueEntry> due(std::int64_t now) {
    auto l = this->s().queue_due(now, 100);
    EXPECT_TRUE(l) << l.error().message();
    return l ? *l : std::vector<QueueEntry>{};
  }
};
TYPED_TEST_SUITE(StoreQueue, Engines, EngineNames);

TYPED_TEST(StoreQueue, QueuedWithTheDeliverySharingTheBody) {
  auto& s = this->s();
  this->domain("example.org");
  auto ana = this->account("ana", "example.org");
  this->queue(kBody, {this->rcpt("bob@example.net", "example.net"), this->rcpt("cy@example.com", "example.com")},
              {this->copy(ana.id, "Delivered-To: ana@example.org\r\n")});
  auto q = this->all();
  ASSERT_EQ(q.size(), 1u);
  const auto& e = q[0];
  EXPECT_GT(e.id, 0);
  EXPECT_EQ(e.trace_id, "Q1");
  EXPECT_EQ(e.created, 1700000000);
  EXPECT_EQ(e.size, std::string("Received: from x\r\n").size() + kBody.size());
  EXPECT_EQ(e.message.sender, "ana@example.org");
  EXPECT_EQ(e.message.envid, "env-1");
  EXPECT_EQ(e.message.ret, 1);
  EXPECT_TRUE(e.message.eight_bit);
  EXPECT_FALSE(e.message.smtputf8);
  EXPECT_EQ(e.message.origin, "submission ana@example.org");
  ASSERT_EQ(e.message.rcpts.size(), 2u);
  EXPECT_EQ(e.message.rcpts[0].address, "bob@example.net");
  EXPECT_EQ(e.message.rcpts[0].domain, "example.net");
  EXPECT_EQ(e.message.rcpts[0].state, QueueState::Pending);
  EXPECT_EQ(e.message.rcpts[0].attempts, 0u);
  EXPECT_EQ(e.message.rcpts[0].next_attempt, 1700000000);  // due at once
  // One body for the local copy and the queue entry: two references.
  auto local = this->messages(ana.id, "INBOX");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ(local[0].blob_id, e.blob_id);
  if (auto refs = this->blob_refs(e.blob_id)) {
    EXPECT_EQ(*refs, 2);
  }
  auto reader = s.open_queued(e);
  ASSERT_TRUE(reader) << reader.error().message();
  std::string got(static_cast<std::size_t>((*reader)->size()), '\0');
  auto n = (*reader)->read(got.data(), got.size());
  ASSERT_TRUE(n);
  EXPECT_EQ(got, "Received: from x\r\n" + std::string(kBody));
  auto found = s.find_queued(e.id);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->message.rcpts.size(), 2u);
  auto missing = s.find_queued(e.id + 100);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(StoreQueue, DueRecipientsAttemptsAndRemoval) {
  auto& s = this->s();
  this->queue(kBody, {this->rcpt("bob@example.net", "example.net"), this->rcpt("cy@example.com", "example.com")});
  auto d = this->due(1700000000);
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].message.rcpts.size(), 2u);
  EXPECT_TRUE(this->due(1699999999).empty());  // not yet

  auto bob = d[0].message.rcpts[0].id, cy = d[0].message.rcpts[1].id;
  std::vector<RecipientUpdate> up{{bob, QueueState::Delivered, 0, "250 2.0.0 ok", "mx.example.net[127.0.0.2]", true},
                                  {cy, QueueState::Pending, 1700000300, "451 4.3.0 later", "mx.example.com[127.0.0.3]",
                                   true}};
  ASSERT_TRUE(s.update_queue(up));
  EXPECT_TRUE(this->due(1700000299).empty());
  d = this->due(1700000300);
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].message.rcpts.size(), 1u);  // only the pending one
  EXPECT_EQ(d[0].message.rcpts[0].address, "cy@example.com");
  EXPECT_EQ(d[0].message.rcpts[0].attempts, 1u);
  EXPECT_EQ(d[0].message.rcpts[0].last_reply, "451 4.3.0 later");
  EXPECT_EQ(d[0].message.rcpts[0].remote, "mx.example.com[127.0.0.3]");
  EXPECT_GT(d[0].message.rcpts[0].last_attempt, 0);
  auto listed = this->all();
  ASSERT_EQ(listed.size(), 1u);
  ASSERT_EQ(listed[0].message.rcpts.size(), 2u);  // the delivered one stays listed
  EXPECT_EQ(listed[0].message.rcpts[0].state, QueueState::Delivered);

  // Rescheduled without an attempt (queue retry): the count stays.
  std::vector<RecipientUpdate> now{{cy, QueueState::Pending, 1700000001, "451 4.3.0 later", "", false}};
  ASSERT_TRUE(s.update_queue(now));
  d = this->due(1700000001);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message.rcpts[0].attempts, 1u);

  // The last pending recipient finishes: the entry goes, and its body reference.
  auto blob = listed[0].blob_id;
  std::vector<RecipientUpdate> fail{{cy, QueueState::Failed, 0, "550 5.1.1 no such user", "mx", true}};
  ASSERT_TRUE(s.update_queue(fail));
  EXPECT_TRUE(this->all().empty());
  if (auto refs = this->blob_refs(blob)) {
    EXPECT_EQ(*refs, 0);
  }
  auto gc = s.collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(*gc, 1u);
}

TYPED_TEST(StoreQueue, DueLimitTakesWholeEntriesOldestFirst) {
  for (int i = 0; i < 5; ++i) this->queue("Subject: " + std::to_string(i) + "\r\n\r\nx\r\n",
                                        {this->rcpt("a@example.net", "example.net")}, {}, "T" + std::to_string(i));
  auto d = this->s().queue_due(1700000000, 3);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].trace_id, "T0");
  EXPECT_EQ((*d)[2].trace_id, "T2");
}

TYPED_TEST(StoreQueue, DeleteWarnAndPersistence) {
  auto& s = this->s();
  this->queue(kBody, {this->rcpt("bob@example.net", "example.net")});
  this->queue("Subject: other\r\n\r\nbody\r\n", {this->rcpt("cy@example.com", "example.com")}, {}, "Q2");
  auto q = this->all();
  ASSERT_EQ(q.size(), 2u);
  ASSERT_TRUE(s.mark_warned(q[0].id));
  this->reopen();
  q = this->all();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_TRUE(q[0].warned);
  EXPECT_FALSE(q[1].warned);
  auto del = this->s().delete_queued(q[1].id);
  ASSERT_TRUE(del);
  EXPECT_TRUE(*del);
  del = this->s().delete_queued(q[1].id);
  ASSERT_TRUE(del);
  EXPECT_FALSE(*del);
  q = this->all();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].trace_id, "Q1");
  // Updates naming recipients that are gone are skipped.
  std::vector<RecipientUpdate> stale{{99999, QueueState::Delivered, 0, "", "", true}};
  EXPECT_TRUE(this->s().update_queue(stale));
}

}  // namespace
}  // namespace valija::store::conformance
