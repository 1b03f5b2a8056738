#include "net/listener.hpp"

#include <fmt/format.h>

#include "base/log.hpp"

#include <asio/ip/v6_only.hpp>

namespace valija::net {

Result<std::unique_ptr<Listener>> Listener::bind(asio::io_context& io, const std::string& address, std::uint16_t port) {
  std::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(Errc::Invalid, fmt::format("invalid listen address '{}'", address));
  std::unique_ptr<Listener> l(new Listener(io, address, port));
  tcp::endpoint ep(addr, port);
  l->acceptor_.open(ep.protocol(), ec);
  if (!ec) l->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && addr.is_v6()) l->acceptor_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) l->acceptor_.bind(ep, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (ec == asio::error::address_in_use)
      return fail(Errc::Unavailable, fmt::format("port {} on {} is already in use (another valija or mail server?)", port, address));
    if (ec == asio::error::access_denied)
      return fail(Errc::Permission, fmt::format("no permission to listen on {}:{} (ports below 1024 need root)", address, port));
    return fail(Errc::Unavailable, fmt::format("cannot listen on {}:{}: {}", address, port, ec.message()));
  }
  l->port_ = l->acceptor_.local_endpoint().port();
  return l;
}

void Listener::start(Handler handler, IoThreads& threads) {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(std::move(handler), threads), asio::detached);
}

void Listener::close() {
  std::error_code ec;
  acceptor_.close(ec);
}

awaitable<void> Listener::accept_loop(Handler handler, IoThreads& threads) {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(threads.next(), use_tuple);
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
  entries_.push_back(Entry{&stream, stream.remote_ip(), &stream.context(), false, false});
  return std::prev(entries_.end());
}

void Connections::release(Handle h) {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(h->ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  entries_.erase(h);
}

void Connections::stop_all(IoThreads& threads) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;  // admits nothing more
  }
  threads.for_each([this](asio::io_context& io) {
    // On `io`'s thread: its connections release their entries on that thread too, so
    // each stream seen here under the lock is alive.
    asio::post(io, [this, ctx = static_cast<asio::execution_context*>(&io)] {
      std::lock_guard lock(mu_);
      for (auto& e : entries_) {
        if (e.context != ctx) continue;
        e.stopping = true;
        if (e.idle) e.stream->cancel();
      }
    });
  });
}

}  // namespace valija::net
