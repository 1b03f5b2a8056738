#pragma once
// Outbound TCP connections (the SMTP client): one address, bounded in time.
#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "net/asio.hpp"

namespace valija::net {

// Connects to `ip`:`port` within `timeout` (RFC 5321 §4.5.3.2 leaves the connect timeout
// to the client); the socket belongs to `executor`'s context. Errors say what failed:
// "connection refused", "no answer within 30 s", ...
awaitable<Result<tcp::socket>> connect(asio::any_io_executor executor, std::string ip, std::uint16_t port,
                                       std::chrono::seconds timeout);

}  // namespace valija::net
