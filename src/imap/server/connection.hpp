#pragma once
// One IMAP connection: a coroutine that frames commands (imap/proto/reader.hpp), runs
// them in the Session on the worker pool, and keeps the exchanges that need the client
// between steps: LOGIN and AUTHENTICATE (Argon2id on the password pool, throttled),
// STARTTLS, APPEND's message literal, IDLE (woken by the store's change notices).
#include <atomic>
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

namespace valija::imap::server {

// Who wants to hear of changes to an account's mail: the logged-in sessions of this
// process, on any I/O thread. The store's listener calls notify() on the thread that
// committed. It raises each session's "changed" flag (the session reads what changed
// before its next command) and wakes, on its own I/O thread, only a session in IDLE on
// the mailbox concerned: a busy session is not disturbed, and no thread is woken for it.
class Watchers {
 public:
  struct Watch {
    std::atomic<bool>* changed = nullptr;  // the session's flag; valid until remove()
    asio::any_io_executor executor;        // the session's I/O thread
    std::function<void()> wake;            // there: interrupts the IDLE read
    std::atomic<bool> idling{false};
    std::atomic<store::MailboxId> selected{0};
    bool live = true;  // read and written on the session's thread only
  };
  using Handle = std::shared_ptr<Watch>;

  // Registers a session unless the account already has `limit` (nullptr).
  Handle add_within(store::AccountId account, std::size_t limit, std::atomic<bool>* changed,
                    asio::any_io_executor executor, std::function<void()> wake);
  // Called on the session's I/O thread: no wake runs and no flag is touched after this.
  void remove(store::AccountId account, const Handle& h);
  // `mailbox` 0: the account as a whole.
  void notify(store::AccountId account, store::MailboxId mailbox);

 private:
  std::mutex mu_;
  std::unordered_map<store::AccountId, std::unordered_set<Handle>> by_account_;
};

struct ListenerConfig {
  std::string service = "imap";  // imap | imaps
  bool implicit_tls = false;
  std::string hostname = "localhost";
  // LOGIN and AUTHENTICATE PLAIN/LOGIN without TLS: always, or from loopback only.
  bool cleartext_always = false;
  bool cleartext_loopback = true;
  // RFC 9051 §5.4: an autologout timer of at least 30 minutes once logged in.
  std::chrono::seconds idle_timeout{1800};
  // From connecting to logging in, at most.
  std::chrono::seconds login_timeout{120};
  // A client in IDLE hears "* OK Still here" this often (NAT and firewall timeouts).
  std::chrono::seconds idle_keepalive{120};
  Limits limits;
};

// A connection runs on a strand of the I/O threads' pool (net::IoThreads): it calls the
// store inline, blocking only its own pool thread.
struct ConnectionDeps {
  store::Store& store;
  asio::thread_pool& passwords;  // Argon2id verifications
  net::Connections& connections;
  net::TlsContexts* tls = nullptr;  // null: no certificate, no STARTTLS
  auth::Throttle& throttle;
  auth::VerifiedCache& verified;
  MemoryBudget& memory;  // APPEND messages while they arrive
  Watchers& watchers;
  // Stores an APPEND through group commit; blocks (its pool thread) until durable.
  std::function<store::CopyResult(store::Delivery)> append;
  // Runs a store write in the writer's next batch; blocks until committed (Session).
  std::function<Result<void>(const std::function<void()>&)> write;
};

net::awaitable<void> serve_connection(net::tcp::socket socket, std::shared_ptr<const ListenerConfig> config,
                                      ConnectionDeps deps);

}  // namespace valija::imap::server
