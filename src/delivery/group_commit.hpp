#pragma once
// Group commit: deliveries from every connection queue here; one writer thread stores
// whatever has queued up as one batch (one fsync per body and directory, one commit),
// then answers each. While a batch is being written the next one gathers, so the cost
// of durability is shared by concurrent senders.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "store/store.hpp"

namespace valija::delivery {

struct Job {
  std::shared_ptr<const std::string> body;  // keeps store::Delivery::body alive
  store::Delivery delivery;
  std::function<void(Result<std::vector<store::CopyResult>>)> done;
};

// A store write of another kind (IMAP STORE, COPY, EXPUNGE...): `run` performs it in
// the writer thread inside the batch transaction (recording its own result), `done`
// learns whether the commit made it durable.
struct WriteJob {
  std::function<void()> run;
  std::function<void(Result<void>)> done;
};

class GroupCommitter {
 public:
  GroupCommitter(store::Store& store, std::size_t max_batch = 64, std::size_t max_batch_bytes = 32 << 20);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;

  void submit(Job job);
  void submit_write(WriteJob job);
  // Finishes queued work, then stops the writer thread.
  void stop();
  // Runs f in the writer thread between batches (blob garbage collection).
  void run_in_writer(std::function<void()> f);
  std::uint64_t batches() const { return batches_.load(); }

 private:
  void loop();
  // One batch: deliveries and other writes in one store transaction.
  void commit_batch(std::vector<Job>& batch, std::vector<WriteJob>& writes);
  store::Store& store_;
  std::size_t max_batch_, max_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::deque<WriteJob> writes_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> batches_{0};
  std::once_flag joined_;
  std::thread thread_;
};

}  // namespace valija::delivery
