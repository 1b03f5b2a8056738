// Group commit over a real SQLite store: concurrent submitters, batching, results
// routed back to the right job, stop() draining the queue, writer-thread tasks.
#include "delivery/group_commit.hpp"
#include "base/testing/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace valija::delivery {
namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("valija-gc") {}
};

// What each job's callback received, keyed by job number.
class Outcomes {
 public:
  explicit Outcomes(std::size_t expected) : expected_(expected) {}

  std::function<void(Result<std::vector<store::CopyResult>>)> callback(int job) {
    return [this, job](Result<std::vector<store::CopyResult>> r) {
      std::lock_guard l(mu_);
      EXPECT_EQ(results_.count(job), 0u) << "job " << job << " answered twice";
      results_.emplace(job, std::move(r));
      if (results_.size() == expected_) cv_.notify_all();
    };
  }
  // Waits for every job; bounded so a lost job fails the test instead of hanging it.
  bool wait_all() {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [this] { return results_.size() == expected_; });
  }
  std::size_t count() {
    std::lock_guard l(mu_);
    return results_.size();
  }
  std::map<int, Result<std::vector<store::CopyResult>>>& results() { return results_; }

 private:
  std::size_t expected_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Result<std::vector<store::CopyResult>>> results_;
};

class GroupCommitTest : public testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite({dir_.path() + "/data", true});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->add_domain("example.org"));
    auto a = store_->add_account("ana", "example.org", "h", 0);
    auto b = store_->add_account("bob", "example.org", "h", 0);
    ASSERT_TRUE(a && b);
    ana_ = a->id;
    bob_ = b->id;
  }

  static std::string body_of(int n) { return "Subject: job " + std::to_string(n) + "\r\n\r\nbody " + std::to_string(n) + "\r\n"; }

  // A job for ana's INBOX and bob's INBOX; with bad_mailbox, bob's copy names a missing
  // mailbox. With put_blob, the body is stored first, as the SMTP path does.
  Job job(int n, Outcomes& out, bool bad_mailbox = false, bool put_blob = false) {
    Job j;
    j.body = std::make_shared<const std::string>(body_of(n));
    j.delivery.body = *j.body;
    if (put_blob) {
      auto id = store_->put_blob(*j.body);
      EXPECT_TRUE(id) << id.error().message();
      if (id) j.delivery.blob_id = *id;
    }
    j.delivery.internal_date = 1700000000 + n;
    j.delivery.trace_id = "T" + std::to_string(n);
    store::Copy c;
    c.account = ana_;
    c.prefix = "X-Job: " + std::to_string(n) + "\r\n";
    j.delivery.copies.push_back(c);
    c.account = bob_;
    if (bad_mailbox) c.mailbox = "Missing";
    j.delivery.copies.push_back(c);
    j.done = out.callback(n);
    return j;
  }

  // Holds the writer thread inside a task until released, so jobs pile up meanwhile.
  struct Gate {
    std::promise<void> entered, release;
    std::shared_future<void> released{release.get_future().share()};
  };
  void block_writer(GroupCommitter& gc, Gate& gate) {
    gc.run_in_writer([&gate] {
      gate.entered.set_value();
      gate.released.wait();
    });
    gate.entered.get_future().wait();
  }

  // Every message in ana's INBOX, uid -> text.
  std::map<std::uint32_t, std::string> inbox(store::AccountId account) {
    std::map<std::uint32_t, std::string> out;
    auto mb = store_->find_mailbox(account, "INBOX");
    EXPECT_TRUE(mb && mb->has_value());
    if (!mb || !*mb) return out;
    auto msgs = store_->list_messages((*mb)->id);
    EXPECT_TRUE(msgs);
    if (!msgs) return out;
    for (const auto& m : *msgs) out[m.uid] = *store_->read_message(m);
    return out;
  }

  std::map<std::uint32_t, std::string> inbox_of(store::AccountId account) { return inbox(account); }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  store::AccountId ana_ = 0, bob_ = 0;
};

TEST_F(GroupCommitTest, ConcurrentSubmittersGetTheirOwnResults) {
  constexpr int kThreads = 4, kPerThread = 25, kJobs = kThreads * kPerThread;
  Outcomes out(kJobs);
  GroupCommitter gc(*store_);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        gc.submit(job(n, out, n % 10 == 7, /*put_blob=*/n % 2 == 0));
      }
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(out.wait_all()) << out.count() << " of " << kJobs << " answered";

  auto ana = inbox(ana_);
  ASSERT_EQ(ana.size(), static_cast<std::size_t>(kJobs));
  std::set<std::uint32_t> ana_uids, bob_uids;
  for (auto& [n, r] : out.results()) {
    SCOPED_TRACE("job " + std::to_string(n));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 2u);
    ASSERT_TRUE((*r)[0]) << (*r)[0].error().message();
    // The UID handed back names this job's message, not another's.
    auto uid = (*r)[0]->uid;
    EXPECT_TRUE(ana_uids.insert(uid).second) << "uid " << uid << " given twice";
    EXPECT_EQ(ana[uid], "X-Job: " + std::to_string(n) + "\r\n" + body_of(n));
    if (n % 10 == 7) {
      ASSERT_FALSE((*r)[1]);
      EXPECT_EQ((*r)[1].error().code, Errc::NotFound);
    } else {
      ASSERT_TRUE((*r)[1]) << (*r)[1].error().message();
      EXPECT_TRUE(bob_uids.insert((*r)[1]->uid).second);
    }
  }
  EXPECT_EQ(*ana_uids.begin(), 1u);
  EXPECT_EQ(*ana_uids.rbegin(), static_cast<std::uint32_t>(kJobs));
  EXPECT_EQ(bob_uids.size(), static_cast<std::size_t>(kJobs - kJobs / 10));
  EXPECT_EQ(inbox(bob_).size(), bob_uids.size());
  EXPECT_GE(gc.batches(), 1u);
  EXPECT_LE(gc.batches(), static_cast<std::uint64_t>(kJobs));
  EXPECT_EQ(store_->stats()->messages, static_cast<std::uint64_t>(2 * kJobs - kJobs / 10));
  EXPECT_EQ(store_->stats()->blobs, static_cast<std::uint64_t>(kJobs));
  // Every body is referenced and every pin released: nothing is garbage or orphaned.
  EXPECT_EQ(*store_->collect_garbage(), 0u);
  EXPECT_EQ(*store_->sweep_orphans(), 0u);
}

TEST_F(GroupCommitTest, BurstIsCommittedInFewBatches) {
  constexpr int kJobs = 100;
  Outcomes out(kJobs);
  GroupCommitter gc(*store_, /*max_batch=*/64);
  Gate gate;
  block_writer(gc, gate);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kJobs / 4; ++i) gc.submit(job(t * (kJobs / 4) + i, out));
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(out.count(), 0u);  // nothing ran while the writer was held
  gate.release.set_value();
  ASSERT_TRUE(out.wait_all());
  // 100 queued jobs, at most 64 per batch: two commits, not a hundred.
  EXPECT_EQ(gc.batches(), 2u);
  EXPECT_LT(gc.batches(), static_cast<std::uint64_t>(kJobs));
  for (auto& [n, r] : out.results()) {
    ASSERT_TRUE(r) << n;
    EXPECT_TRUE((*r)[0] && (*r)[1]) << n;
  }
  EXPECT_EQ(inbox(ana_).size(), static_cast<std::size_t>(kJobs));
}

TEST_F(GroupCommitTest, MaxBatchIsRespected) {
  constexpr int kJobs = 35;
  Outcomes out(kJobs);
  GroupCommitter gc(*store_, /*max_batch=*/10);
  Gate gate;
  block_writer(gc, gate);
  for (int n = 0; n < kJobs; ++n) gc.submit(job(n, out));
  gate.release.set_value();
  ASSERT_TRUE(out.wait_all());
  EXPECT_EQ(gc.batches(), 4u);
  // Within and across batches, UIDs follow submission order.
  for (auto& [n, r] : out.results()) {
    ASSERT_TRUE(r && (*r)[0]) << n;
    EXPECT_EQ((*r)[0]->uid, static_cast<std::uint32_t>(n + 1));
  }
}

TEST_F(GroupCommitTest, MaxBatchBytesIsRespected) {
  constexpr int kJobs = 6;
  Outcomes out(kJobs);
  // Each body is ~30 bytes; a 50-byte budget closes a batch after its second body.
  GroupCommitter gc(*store_, /*max_batch=*/64, /*max_batch_bytes=*/50);
  Gate gate;
  block_writer(gc, gate);
  for (int n = 0; n < kJobs; ++n) gc.submit(job(n, out));
  gate.release.set_value();
  ASSERT_TRUE(out.wait_all());
  EXPECT_EQ(gc.batches(), 3u);
}

TEST_F(GroupCommitTest, StopFinishesQueuedWork) {
  constexpr int kJobs = 20;
  Outcomes out(kJobs);
  GroupCommitter gc(*store_, /*max_batch=*/4);
  Gate gate;
  block_writer(gc, gate);
  for (int n = 0; n < kJobs; ++n) gc.submit(job(n, out));
  std::thread stopper([&] { gc.stop(); });
  gate.release.set_value();
  stopper.join();
  // stop() has returned: every queued job has been answered and stored.
  EXPECT_EQ(out.count(), static_cast<std::size_t>(kJobs));
  for (auto& [n, r] : out.results()) EXPECT_TRUE(r && (*r)[0] && (*r)[1]) << n;
  EXPECT_EQ(inbox(ana_).size(), static_cast<std::size_t>(kJobs));
  gc.stop();  // a second stop is harmless
}

TEST_F(GroupCommitTest, StopWithoutWork) {
  GroupCommitter gc(*store_);
  gc.stop();
  EXPECT_EQ(gc.batches(), 0u);
}

TEST_F(GroupCommitTest, DestructorDrainsQueue) {
  constexpr int kJobs = 10;
  Outcomes out(kJobs);
  {
    GroupCommitter gc(*store_);
    for (int n = 0; n < kJobs; ++n) gc.submit(job(n, out));
  }
  EXPECT_EQ(out.count(), static_cast<std::size_t>(kJobs));
}

TEST_F(GroupCommitTest, RunInWriterRunsTheTask) {
  GroupCommitter gc(*store_);
  std::promise<std::thread::id> ran;
  gc.run_in_writer([&] { ran.set_value(std::this_thread::get_id()); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST_F(GroupCommitTest, RunInWriterSerialisesWithDeliveries) {
  // Garbage collection in the writer between batches sees every committed delivery.
  ASSERT_TRUE(store_->remove_account("bob", "example.org"));
  Outcomes out(1);
  GroupCommitter gc(*store_);
  gc.submit(job(1, out, /*bad_mailbox=*/false));
  ASSERT_TRUE(out.wait_all());
  ASSERT_TRUE(store_->remove_account("ana", "example.org"));
  std::promise<Result<std::size_t>> collected;
  gc.run_in_writer([&] { collected.set_value(store_->collect_garbage()); });
  auto r = collected.get_future().get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 1u);
  EXPECT_EQ(store_->stats()->blobs, 0u);
}

TEST_F(GroupCommitTest, WritesShareTheBatchWithDeliveries) {
  // Deliveries and other writes that queue up together are committed in one batch, and
  // each writer learns of the commit.
  Outcomes out(3);
  GroupCommitter gc(*store_);
  Gate gate;
  block_writer(gc, gate);
  for (int i = 1; i <= 3; ++i) gc.submit(job(i, out));
  auto inbox = store_->find_mailbox(ana_, "INBOX");
  ASSERT_TRUE(inbox && *inbox);
  std::vector<std::promise<Result<void>>> done(4);
  std::vector<Result<std::size_t>> created(4, std::size_t{0});
  for (int i = 0; i < 4; ++i)
    gc.submit_write(WriteJob{[&, i] {
                               auto m = store_->create_mailbox(ana_, "Folder" + std::to_string(i), "");
                               created[static_cast<std::size_t>(i)] =
                                   m ? Result<std::size_t>(1) : Result<std::size_t>(tl::unexpected(m.error()));
                             },
                             [&, i](Result<void> r) { done[static_cast<std::size_t>(i)].set_value(std::move(r)); }});
  auto before = gc.batches();
  gate.release.set_value();
  ASSERT_TRUE(out.wait_all());
  for (auto& d : done) {
    auto f = d.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  EXPECT_EQ(gc.batches() - before, 1u);
  for (auto& c : created) EXPECT_TRUE(c);
  EXPECT_EQ(inbox_of(ana_).size(), 3u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(store_->find_mailbox(ana_, "Folder" + std::to_string(i))->has_value());
}

}  // namespace
}  // namespace valija::delivery
