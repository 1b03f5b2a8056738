#include "net/io_threads.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/strand.hpp>

#include "base/thread_name.hpp"

namespace valija::net {

std::size_t IoThreads::resolve(std::size_t n) {
  if (n > 0) return n;
  auto cpus = std::thread::hardware_concurrency();
  return cpus > 0 ? cpus : 1;
}

IoThreads::IoThreads(std::size_t n, std::size_t pool_threads) : pool_threads_(pool_threads) {
  n = resolve(n);
  contexts_.reserve(n);
  // Hint 1: each context is run by one thread (posts from other threads stay safe).
  for (std::size_t i = 0; i < n; ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
  if (pool_threads_ > 0) pool_ = std::make_unique<asio::io_context>(static_cast<int>(pool_threads_));
}

asio::any_io_executor IoThreads::pool_strand() { return asio::make_strand(pool_->get_executor()); }

IoThreads::~IoThreads() {
  stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // The main context goes first: an accept still pending there holds the socket it was
  // to fill, which belongs to another context (Listener::accept_loop), so that context
  // must outlive it. Nothing in the other contexts refers to the main one.
  for (auto& c : contexts_) c.reset();
  pool_.reset();
}

asio::io_context& IoThreads::next() {
  if (contexts_.size() == 1) return *contexts_.front();
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoThreads::start() {
  if (!threads_.empty()) return;  // started already (or nothing to start)
  auto spawn = [this](asio::io_context& c, std::string name) {
    guards_.emplace_back(c.get_executor());
    threads_.emplace_back([&c] { c.run(); });
    name_thread(threads_.back(), name);
  };
  for (std::size_t i = 1; i < contexts_.size(); ++i) spawn(*contexts_[i], "io-" + std::to_string(i));
  for (std::size_t i = 0; pool_ && i < pool_threads_; ++i) spawn(*pool_, "imap-" + std::to_string(i));
}

void IoThreads::run() {
  start();
  contexts_.front()->run();  // on the main thread, which keeps the process's name
  // The main context is done (shutdown): the others stop with it.
  stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  guards_.clear();
}

void IoThreads::stop() {
  for (auto& c : contexts_) c->stop();
  if (pool_) pool_->stop();
}

}  // namespace valija::net
