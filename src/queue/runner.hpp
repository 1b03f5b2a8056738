#pragma once
// The queue runner: sends what waits in the outbound queue (store::Store's queue
// tables) to the destination's exchangers, records each recipient's outcome, retries
// on the schedule, and sends delivery reports (RFC 3464) to the sender. It lives on
// one I/O context (no locks: every coroutine and its state stay on that thread); store
// reads run on the worker pool, outcomes are written by the group committer together
// with the reports they call for, in one commit.
//
// A destination is a domain's MX set, a per-domain transport or the relay host. Each
// has at most connections_per_destination connections; each connection carries up to
// messages_per_connection messages, every recipient of one message at that
// destination in one transaction. Exchangers are tried in MX order: a connection
// failure or a 4xx moves the undecided recipients to the next one; what is still
// undecided after the last waits for the next attempt.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/limits.hpp"
#include "delivery/group_commit.hpp"
#include "dns/resolver.hpp"
#include "net/asio.hpp"
#include "queue/schedule.hpp"
#include "queue/srs.hpp"
#include "smtp/client/session.hpp"
#include "store/store.hpp"

namespace valija::queue {

// A fixed next hop, instead of the MX records of the domain.
struct Transport {
  std::string host;  // a name (its addresses are looked up) or an IP literal
  std::uint16_t port = 25;
  smtp::client::TlsPolicy tls = smtp::client::TlsPolicy::Opportunistic;
  std::string user, password;  // AUTH to this hop (RFC 4954); empty: none
};

struct RunnerSettings {
  std::string hostname;  // EHLO name, Reporting-MTA, MAILER-DAEMON@hostname
  RetryPolicy retry;
  std::size_t connections_total = 20;
  std::size_t connections_per_destination = 4;
  std::size_t messages_per_connection = 100;
  std::chrono::seconds connect_timeout{30};
  std::uint16_t port = 25;  // of the exchangers found through MX records
  smtp::client::TlsPolicy tls = smtp::client::TlsPolicy::Opportunistic;
  std::shared_ptr<asio::ssl::context> tls_context;  // null: never STARTTLS
  std::shared_ptr<asio::ssl::context> tls_verified;  // verifying context, for REQUIRETLS
  std::optional<Transport> relay;                    // everything not local goes here
  std::map<std::string, Transport> transports;       // per destination domain (lower case)
  // RET=FULL returns the whole message in a failure report up to this size; without
  // RET, up to bounce_full_default; otherwise the header alone.
  std::uint64_t bounce_full_limit = 10ull << 20;
  std::uint64_t bounce_full_default = 50000;
  std::chrono::seconds scan_interval{30};  // how often the queue is read even when nothing woke it
};

struct RunnerDeps {
  store::Store& store;
  asio::thread_pool& workers;
  delivery::GroupCommitter& committer;
  dns::Resolver& resolver;
  asio::io_context& io;
  const Srs* srs = nullptr;  // to send reports for forwarded mail to the original sender
  Limits limits;
};

class Runner {
 public:
  Runner(RunnerDeps deps, RunnerSettings settings);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void start();
  // Something was queued, or the admin asked for a run (thread-safe).
  void wake();
  // No new connections; those open finish their message (thread-safe).
  void stop();
  void set_settings(RunnerSettings settings);  // on the runner's context (SIGHUP)

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace valija::queue
