#pragma once
// One SMTP connection: a coroutine that reads, lets the Engine decide, and writes.
#include <memory>

#include "auth/throttle.hpp"
#include "auth/verified_cache.hpp"
#include "base/memory_budget.hpp"
#include "store/store.hpp"
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
  // AUTH without TLS for clients on loopback (engine.auth_cleartext: for everyone).
  bool auth_cleartext_loopback = false;
};

struct ConnectionDeps {
  SmtpPolicy& policy;
  net::Connections& connections;
  net::TlsContexts* tls = nullptr;  // null: no certificate, no STARTTLS
  MemoryBudget& memory;             // message content in flight, server-wide
  // For AUTH (listeners whose engine offers it); null elsewhere.
  store::Store* store = nullptr;
  asio::thread_pool* passwords = nullptr;  // Argon2id verification
  asio::thread_pool* workers = nullptr;    // store lookups (SCRAM keys)
  auth::Throttle* throttle = nullptr;
  auth::VerifiedCache* verified = nullptr;
};

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps);

}  // namespace valija::smtp::server
