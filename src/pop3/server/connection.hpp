#pragma once
// One POP3 connection (RFC 1939): a coroutine that reads lines, lets the pure Engine
// (pop3/proto/engine.hpp) decide, and does what it asks: check a login (on the worker
// pool: Argon2id is slow by design), take the account's maildrop lock, stream a message
// with byte-stuffing, expunge on QUIT in one durable step.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "auth/throttle.hpp"
#include "auth/verified_cache.hpp"
#include "base/limits.hpp"
#include "base/memory_budget.hpp"
#include "net/asio.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "store/store.hpp"

namespace valija::pop3::server {

// RFC 1939 §8 exclusive-access lock on each account's maildrop, for this process (one
// server per data dir). A second POP3 session gets -ERR [IN-USE]; IMAP does not take it.
// It also remembers each account's last login, for LOGIN-DELAY (RFC 2449 §6.8).
class MaildropLocks {
 public:
  using Clock = std::chrono::steady_clock;
  bool try_lock(store::AccountId account) {
    std::lock_guard l(mu_);
    return held_.insert(account).second;
  }
  void unlock(store::AccountId account) {
    std::lock_guard l(mu_);
    held_.erase(account);
  }
  // True (and the login recorded) unless the last one was less than `delay` ago.
  bool login_allowed(store::AccountId account, std::chrono::seconds delay, Clock::time_point now) {
    std::lock_guard l(mu_);
    auto [it, fresh] = last_login_.try_emplace(account, now);
    if (!fresh && now - it->second < delay) return false;
    it->second = now;
    if (last_login_.size() > 1'000'000) last_login_.clear();  // bounded; forgetting only relaxes the delay
    return true;
  }

 private:
  std::mutex mu_;
  std::unordered_set<store::AccountId> held_;
  std::unordered_map<store::AccountId, Clock::time_point> last_login_;
};

struct ListenerConfig {
  std::string service = "pop3";  // pop3 | pop3s
  bool implicit_tls = false;
  std::string hostname = "localhost";
  // USER/PASS and password SASL mechanisms without TLS: always, or from loopback only.
  bool cleartext_always = false;
  bool cleartext_loopback = true;
  std::chrono::seconds idle_timeout{600};
  // From connecting to logging in, at most (Dovecot's login processes allow about as
  // long): an unauthenticated connection cannot be kept open with a CAPA now and then.
  std::chrono::seconds login_timeout{120};
  // RFC 2449: LOGIN-DELAY is enforced (per account); EXPIRE NEVER is only announced
  // (valija never deletes mail on its own).
  std::optional<std::chrono::seconds> login_delay;
  bool expire_never = false;
  bool apop = false;  // RFC 1939 §7, for accounts that have an APOP secret
  Limits limits;
};

struct ConnectionDeps {
  store::Store& store;
  asio::thread_pool& workers;  // store reads, expunges
  // Argon2id verifications (tens of milliseconds of CPU each, by design): a pool of
  // their own, so a burst of logins never delays SMTP's recipient lookups.
  asio::thread_pool& passwords;
  net::Connections& connections;
  net::TlsContexts* tls = nullptr;  // null: no certificate, no STLS
  auth::Throttle& throttle;
  auth::VerifiedCache& verified;
  MaildropLocks& locks;
  MemoryBudget& memory;  // messages held while being sent
  // Runs a store change in the writer thread, queued with deliveries (an expunge must not
  // block a worker that SMTP's lookups need while the writer is busy).
  std::function<void(std::function<void()>)> run_in_writer;
};

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps);

}  // namespace valija::pop3::server
