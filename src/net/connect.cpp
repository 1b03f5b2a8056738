#include "net/connect.hpp"

#include <fmt/format.h>

#include <asio/experimental/awaitable_operators.hpp>

namespace valija::net {

awaitable<Result<tcp::socket>> connect(asio::any_io_executor executor, std::string ip, std::uint16_t port,
                                       std::chrono::seconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  std::error_code ec;
  auto addr = asio::ip::make_address(ip, ec);
  if (ec) co_return fail(Errc::Invalid, fmt::format("'{}' is not an IP address", ip));
  tcp::socket socket(executor);
  asio::steady_timer timer(executor, timeout);
  tcp::endpoint ep(addr, port);
  // "[2001:db8::1]:25" or "192.0.2.1:25", for messages.
  std::string where = addr.is_v6() ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
  auto which = co_await (socket.async_connect(ep, use_tuple) || timer.async_wait(use_tuple));
  if (which.index() == 1) {
    socket.close(ec);
    co_return fail(Errc::Temporary, fmt::format("no connection to {} within {} s", where, timeout.count()));
  }
  auto [cerr] = std::get<0>(which);
  if (cerr) co_return fail(Errc::Temporary, fmt::format("cannot connect to {}: {}", where, cerr.message()));
  socket.set_option(tcp::no_delay(true), ec);
  co_return std::move(socket);
}

}  // namespace valija::net
