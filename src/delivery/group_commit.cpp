#include "delivery/group_commit.hpp"

#include "base/log.hpp"
#include "base/thread_name.hpp"

namespace valija::delivery {

GroupCommitter::GroupCommitter(store::Store& store, std::size_t max_batch, std::size_t max_batch_bytes)
    : store_(store), max_batch_(max_batch), max_bytes_(max_batch_bytes), thread_([this] { loop(); }) {
  name_thread(thread_, "writer");
}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::submit(Job job) {
  {
    std::lock_guard l(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void GroupCommitter::submit_write(WriteJob job) {
  {
    std::lock_guard l(mu_);
    writes_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void GroupCommitter::run_in_writer(std::function<void()> f) {
  {
    std::lock_guard l(mu_);
    tasks_.push_back(std::move(f));
  }
  cv_.notify_one();
}

void GroupCommitter::stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  std::call_once(joined_, [this] { thread_.join(); });
}

void GroupCommitter::loop() {
  while (true) {
    std::vector<Job> batch;
    std::vector<WriteJob> writes;
    std::deque<std::function<void()>> tasks;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [this] { return stopping_ || !queue_.empty() || !tasks_.empty() || !writes_.empty(); });
      if (queue_.empty() && tasks_.empty() && writes_.empty() && stopping_) return;
      std::size_t bytes = 0;
      while (!queue_.empty() && batch.size() < max_batch_ && (batch.empty() || bytes < max_bytes_)) {
        bytes += queue_.front().body->size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      while (!writes_.empty() && writes.size() < max_batch_) {
        writes.push_back(std::move(writes_.front()));
        writes_.pop_front();
      }
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) {
      try {
        t();
      } catch (const std::exception& e) {  // the writer thread must survive a failed task
        log::error("event=writer_task_failed error={}", log::q(e.what()));
      }
    }
    if (!batch.empty() || !writes.empty()) commit_batch(batch, writes);
  }
}

void GroupCommitter::commit_batch(std::vector<Job>& batch, std::vector<WriteJob>& writes) {
  Result<std::vector<std::vector<store::CopyResult>>> result = fail(Errc::Internal, "delivery failed");
  Result<void> committed;
  auto deliver = [&] {
    if (batch.empty()) return;
    std::vector<store::Delivery> deliveries;
    deliveries.reserve(batch.size());
    for (auto& j : batch) deliveries.push_back(j.delivery);
    result = store_.deliver(deliveries);
  };
  try {
    if (writes.empty()) {
      deliver();  // its own transaction: the common case, SMTP alone
    } else {
      committed = store_.batch([&] {
        deliver();
        for (auto& w : writes) w.run();
      });
      if (!committed && !batch.empty()) result = tl::unexpected(committed.error());
    }
  } catch (const std::exception& e) {  // every waiting session gets its answer (451, NO)
    log::error("event=deliver_batch_failed error={}", log::q(e.what()));
    result = fail(Errc::Internal, e.what());
    committed = fail(Errc::Internal, e.what());
  }
  ++batches_;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (result) batch[i].done(std::move((*result)[i]));
    else batch[i].done(tl::unexpected(result.error()));
  }
  for (auto& w : writes) w.done(committed);
}

}  // namespace valija::delivery
