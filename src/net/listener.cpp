#include "net/listener.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace valija::net {

Result<BoundSocket> BoundSocket::open(const std::string& address, std::uint16_t port) {
  std::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(Errc::Invalid, fmt::format("invalid listen address '{}'", address));
  tcp::endpoint ep(addr, port);
  int fd = ::socket(addr.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Errc::Unavailable, fmt::format("cannot listen on {}:{}: {}", address, port, std::strerror(errno)));
  BoundSocket s(fd, addr.is_v6(), address, port);
  int one = 1;
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            (!addr.is_v6() || ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
            ::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0 && ::listen(fd, SOMAXCONN) == 0;
  if (!ok) {
    int e = errno;
    if (e == EADDRINUSE)
      return fail(Errc::Unavailable, fmt::format("port {} on {} is already in use (another valija or mail server?)", port, address));
    if (e == EACCES)
      return fail(Errc::Permission, fmt::format("no permission to listen on {}:{} (ports below 1024 need root)", address, port));
    return fail(Errc::Unavailable, fmt::format("cannot listen on {}:{}: {}", address, port, std::strerror(e)));
  }
  if (port == 0) {
    tcp::endpoint bound;
    socklen_t len = static_cast<socklen_t>(bound.capacity());
    if (::getsockname(fd, bound.data(), &len) == 0) {
      bound.resize(len);
      s.port_ = bound.port();
    }
  }
  return s;
}

BoundSocket::~BoundSocket() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Listener> Listener::adopt(asio::io_context& io, BoundSocket socket) {
  std::unique_ptr<Listener> l(new Listener(io, socket.address_, socket.port_));
  std::error_code ec;
  l->acceptor_.assign(socket.v6_ ? tcp::v6() : tcp::v4(), socket.fd_, ec);
  if (!ec) socket.fd_ = -1;  // the acceptor has it now; on failure ~BoundSocket closes it
  else log::error("event=listener_failed listener={}:{} error={}", socket.address_, socket.port_, log::q(ec.message()));
  return l;
}

void Listener::start(Handler handler, IoThreads& threads, bool on_pool) {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(std::move(handler), threads, on_pool), asio::detached);
}

void Listener::close() {
  std::error_code ec;
  acceptor_.close(ec);
}

awaitable<void> Listener::accept_loop(Handler handler, IoThreads& threads, bool on_pool) {
  while (acceptor_.is_open()) {
    auto target = on_pool ? threads.pool_strand() : asio::any_io_executor(threads.next().get_executor());
    auto [ec, socket] = co_await acceptor_.async_accept(target, use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      // EMFILE and friends: log, pause briefly, keep serving.
      log::warn("event=accept_error listener={}:{} error={}", address_, port_, log::q(ec.message()));
      asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(use_tuple);
      continue;
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, handler(std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("event=connection_crash error={}", log::q(ex.what()));
      }
    });
  }
}

Result<Connections::Handle> Connections::admit(Stream& stream) {
  std::lock_guard lock(mu_);
  if (stopping_) return fail(Errc::Unavailable, "server shutting down");
  if (entries_.size() >= max_total_) return fail(Errc::Limit, "too many connections");
  auto& n = per_ip_[stream.remote_ip()];
  if (n >= max_per_ip_) return fail(Errc::Limit, "too many connections from your address");
  ++n;
  entries_.push_back(Entry{&stream, stream.remote_ip(), ++next_id_, stream.executor(), false, false, TokenBucket{}, false});
  auto h = std::prev(entries_.end());
  by_id_.emplace(h->id, h);
  return h;
}

void Connections::release(Handle h) {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(h->ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  by_id_.erase(h->id);
  entries_.erase(h);
}

void Connections::stop_all() {
  std::lock_guard lock(mu_);
  stopping_ = true;  // admits nothing more
  for (auto& e : entries_) {
    // On the connection's executor: it releases its entry there too, so if the entry
    // is still listed then, its stream is alive.
    asio::post(e.executor, [this, id = e.id] {
      std::lock_guard lock(mu_);
      auto it = by_id_.find(id);
      if (it == by_id_.end()) return;
      it->second->stopping = true;
      if (it->second->idle) it->second->stream->cancel();
    });
  }
}

}  // namespace valija::net
