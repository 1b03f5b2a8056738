#pragma once
// The Asio and OpenSSL headers valija uses, in one place (and one precompiled header).
// Only net/, the protocol connection files and server/ include this.
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/network_v4.hpp>
#include <asio/ip/network_v6.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace valija::net {
using tcp = asio::ip::tcp;
template <class T = void>
using awaitable = asio::awaitable<T>;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace valija::net
