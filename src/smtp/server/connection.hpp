#pragma once
// One SMTP connection: a coroutine that reads, lets the Engine decide, and writes.
#include <memory>

#include "base/memory_budget.hpp"
#include "net/asio.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "smtp/server/engine.hpp"
#include "smtp/server/policy.hpp"

namespace valija::smtp::server {

struct ListenerConfig {
  std::string service = "smtp";  // smtp | submission | submissions
  bool implicit_tls = false;
  EngineConfig engine;
};

struct ConnectionDeps {
  SmtpPolicy& policy;
  net::Connections& connections;
  net::TlsContexts* tls = nullptr;  // null: no certificate, no STARTTLS
  MemoryBudget& memory;             // message content in flight, server-wide
};

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps);

}  // namespace valija::smtp::server
