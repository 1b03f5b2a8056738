#pragma once
// TCP listeners and the registry of live connections (limits per address and in total,
// and draining at shutdown). A listener accepts on the main I/O context and hands each
// connection to the next I/O thread; the registry is shared by all of them.
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "base/result.hpp"
#include "base/token_bucket.hpp"
#include "net/asio.hpp"
#include "net/io_threads.hpp"
#include "net/stream.hpp"

namespace valija::net {

// A listening socket not yet tied to an I/O context: bound while valija may still be
// root (ports below 1024), served after it has become its service user.
class BoundSocket {
 public:
  // Binds and listens; "address already in use" becomes a clear message.
  static Result<BoundSocket> open(const std::string& address, std::uint16_t port);
  BoundSocket(BoundSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), v6_(o.v6_), address_(std::move(o.address_)), port_(o.port_) {}
  BoundSocket& operator=(BoundSocket&&) = delete;
  BoundSocket(const BoundSocket&) = delete;
  ~BoundSocket();
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }

 private:
  friend class Listener;
  BoundSocket(int fd, bool v6, std::string address, std::uint16_t port) : fd_(fd), v6_(v6), address_(std::move(address)), port_(port) {}
  int fd_;
  bool v6_;
  std::string address_;
  std::uint16_t port_;
};

class Listener {
 public:
  using Handler = std::function<awaitable<void>(tcp::socket)>;
  // Accepts on `socket` through `io`.
  static std::unique_ptr<Listener> adopt(asio::io_context& io, BoundSocket socket);
  // Each accepted socket belongs to the next of `threads`' contexts, or with `on_pool`
  // to a new strand of their pool; `handler` is called here (on the listener's thread)
  // and its coroutine runs there.
  void start(Handler handler, IoThreads& threads, bool on_pool = false);
  void close();
  std::uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }

 private:
  Listener(asio::io_context& io, std::string address, std::uint16_t port) : acceptor_(io), address_(std::move(address)), port_(port) {}
  awaitable<void> accept_loop(Handler handler, IoThreads& threads, bool on_pool);
  tcp::acceptor acceptor_;
  std::string address_;
  std::uint16_t port_;
};

class Connections {
 public:
  // `idle` and `stopping` are read and written only on the connection's own executor
  // (stop_all reaches them there), so they need no lock.
  struct Entry {
    Stream* stream = nullptr;
    std::string ip;
    std::uint64_t id = 0;           // stop_all finds the entry again by it
    asio::any_io_executor executor; // the connection's I/O thread or pool strand
    bool idle = false;      // waiting for the client's next command
    bool stopping = false;  // shutdown asked: finish the current command, then 421/BYE
    TokenBucket commands;   // [limits] commands_per_second (pace_command)
    bool paced = false;     // pace_command has made it wait (logged once)
  };
  using Handle = std::list<Entry>::iterator;

  Connections(std::size_t total, std::size_t per_ip) : max_total_(total), max_per_ip_(per_ip) {}

  // Admits a connection, or says why not ("too many connections from your address").
  Result<Handle> admit(Stream& stream);
  void release(Handle h);
  // Asks every connection to finish; idle ones are woken at once. Each connection is
  // told on its own executor.
  void stop_all();
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }
  // New limits apply to connections admitted from now on (SIGHUP).
  void set_limits(std::size_t total, std::size_t per_ip) {
    std::lock_guard lock(mu_);
    max_total_ = total;
    max_per_ip_ = per_ip;
  }
  // Commands per second per connection (0: no limit); applies at once (SIGHUP).
  void set_command_rate(double per_second) { command_rate_.store(per_second, std::memory_order_relaxed); }
  double command_rate() const { return command_rate_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  std::size_t max_total_, max_per_ip_;
  std::list<Entry> entries_;
  std::unordered_map<std::uint64_t, Handle> by_id_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  bool stopping_ = false;
  std::atomic<double> command_rate_{0};
};

// RAII registration of one connection.
class ConnectionSlot {
 public:
  ConnectionSlot(Connections& c, Connections::Handle h) : c_(&c), h_(h) {}
  ConnectionSlot(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { c_->release(h_); }
  Connections::Entry& entry() { return *h_; }
  void idle(bool v) { h_->idle = v; }
  // How long the connection's next command must wait under commands_per_second (a
  // second's worth may come at once).
  double rate() const { return c_->command_rate(); }
  TokenBucket::Clock::duration pace() {
    double rate = c_->command_rate();
    return h_->commands.take(TokenBucket::Clock::now(), rate, rate);
  }

 private:
  Connections* c_;
  Connections::Handle h_;
};

}  // namespace valija::net
