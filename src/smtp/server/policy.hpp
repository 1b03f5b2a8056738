#pragma once
// What the SMTP engine asks of the outside world. Port 25 and submission are two
// policies on one engine (STYLE.md "Mechanics in an engine, policy behind an interface").
#include <any>
#include <optional>
#include <string>

#include "net/asio.hpp"
#include "smtp/server/engine.hpp"

namespace valija::smtp::server {

struct SessionInfo {
  std::string conn_id;
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string helo;
  bool esmtp = false;
  bool tls = false;
  std::string tls_description;
  std::string service;  // listener role: smtp, submission, submissions
  std::string auth_user;  // AUTH identity (the account's address), empty when not authenticated
  std::string client_name;  // the client's forward-confirmed reverse DNS name, or empty
  std::string iprev;        // iprev result (RFC 8601 §3): pass, fail, temperror, permerror; empty: not checked
};

class SmtpPolicy {
 public:
  virtual ~SmtpPolicy() = default;
  // Before the greeting: whether to talk to this client at all, and what DNS says of it.
  struct ConnectAnswer {
    std::optional<Reply> refuse;  // a 554 (then only QUIT) or a 421 (closes)
    std::string client_name;
    std::string iprev;
  };
  virtual net::awaitable<ConnectAnswer> connect(const SessionInfo&) { co_return ConnectAnswer{}; }
  // Empty: sender accepted. The policy may keep state for the transaction in tx.checks.
  virtual net::awaitable<std::optional<Reply>> mail(const SessionInfo& s, Transaction& tx) = 0;
  struct RcptAnswer {
    Reply reply;
    std::any route;
  };
  virtual net::awaitable<RcptAnswer> rcpt(const SessionInfo& s, const Transaction& tx, const mail::Mailbox& to,
                                          bool postmaster) = 0;
  // The message is complete (tx.message); store or queue it durably, then answer.
  virtual net::awaitable<Reply> deliver(const SessionInfo& s, Transaction& tx) = 0;
};

}  // namespace valija::smtp::server
