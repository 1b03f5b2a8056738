#pragma once
// The I/O threads: one io_context per thread, each running its own connections.
// Context 0 runs on the thread that calls run() and also holds the listeners, signals
// and timers; every accepted connection goes to the next context in turn and stays on
// it, so a connection's coroutine, stream and timers never meet another thread.
//
// Beside them, an optional pool: one io_context run by several threads, for
// connections whose commands block on the store (IMAP). Each such connection runs on a
// strand of the pool and calls the store inline; while one thread blocks, any other
// runs the pool's reactor, so a blocked command holds up no other connection. This
// saves the two thread hops (I/O thread -> worker -> I/O thread) per command that a
// separate worker pool costs (docs/ARCHITECTURE.md, "the IMAP pool").
#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "net/asio.hpp"

namespace valija::net {

class IoThreads {
 public:
  // `n` threads; 0 means one per CPU. `pool_threads` threads run the pool (0: none).
  explicit IoThreads(std::size_t n, std::size_t pool_threads = 0);
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;
  ~IoThreads();

  static std::size_t resolve(std::size_t n);

  asio::io_context& main() { return *contexts_.front(); }
  // Where the next connection goes (round robin).
  asio::io_context& next();
  std::size_t size() const { return contexts_.size(); }
  // A new strand of the pool, for one connection (requires pool_threads > 0).
  asio::any_io_executor pool_strand();

  // Starts the other contexts and the pool on their own threads, each named (io-N,
  // imap-N) before this returns, so the process is whole once it reports ready.
  void start();
  // Runs the main context here (starting the others first if start() was not called),
  // until stop(); then joins the other threads.
  void run();
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::unique_ptr<asio::io_context> pool_;
  std::size_t pool_threads_ = 0;
  std::vector<std::thread> threads_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace valija::net
