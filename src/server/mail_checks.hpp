#pragma once
// The checks port 25 runs on a client and its mail (docs/authentication.md):
//   connect      per-client connection rate, DNS blocklists, iprev — concurrently,
//                before the greeting
//   MAIL FROM    per-client message rate; SPF starts in the background
//   RCPT TO      greylisting (when enabled)
//   end of data  DKIM signatures, DMARC, then one Authentication-Results field (RFC
//                8601) and Received-SPF for each local copy; forged fields claiming our
//                authserv-id removed; the message refused, sent to Junk, or accepted
// The checks themselves are pure (src/policy): they state the DNS queries they need;
// this runs them through the resolver, the queries of several checks in one batch.
// Clients in exempt networks (loopback by default) and trusted networks are not checked.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "dns/resolver.hpp"
#include "net/asio.hpp"
#include "policy/rate_limit.hpp"
#include "server/config.hpp"
#include "server/network_list.hpp"
#include "smtp/server/policy.hpp"
#include "store/store.hpp"

namespace valija::server {

struct MessageVerdict {
  std::optional<smtp::proto::Reply> refuse;
  std::string headers;  // Authentication-Results (and Received-SPF): each local copy's prefix
  bool junk = false;    // deliver to the Junk folder
  std::string summary;  // for the log: "spf=pass dkim=pass dmarc=pass"
};

class MailChecks {
 public:
  struct Deps {
    dns::Resolver& resolver;
    store::Store& store;
    asio::thread_pool& workers;  // store calls and DKIM hashing
    std::string hostname;
    ChecksConfig config;
    std::vector<std::string> trusted_networks;
  };
  explicit MailChecks(Deps deps);
  ~MailChecks();

  // Not checked: an exempt or trusted client, or an authenticated session.
  bool exempt(const smtp::server::SessionInfo& s) const;
  const std::string& authserv_id() const { return authserv_id_; }

  net::awaitable<smtp::server::SmtpPolicy::ConnectAnswer> connect(const smtp::server::SessionInfo& s);
  net::awaitable<std::optional<smtp::proto::Reply>> mail(const smtp::server::SessionInfo& s,
                                                         smtp::server::Transaction& tx);
  net::awaitable<std::optional<smtp::proto::Reply>> rcpt(const smtp::server::SessionInfo& s,
                                                         const smtp::server::Transaction& tx, const mail::Mailbox& to);
  // Removes forged Authentication-Results from tx.message (for every client), then
  // checks it (unless exempt).
  net::awaitable<MessageVerdict> message(const smtp::server::SessionInfo& s, smtp::server::Transaction& tx);

  struct SpfState;  // the background SPF check of a transaction (mail_checks.cpp)

 private:
  net::awaitable<std::string> connect_blocklists(const smtp::server::SessionInfo& s);

  Deps d_;
  std::string authserv_id_;
  NetworkList exempt_, trusted_;
  policy::RateLimiter connections_, messages_;
};

}  // namespace valija::server
