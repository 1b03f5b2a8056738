#pragma once
// The SMTP server engine (RFC 5321): syntax, sequencing, pipelining and reply order.
// It does no I/O and holds no store: it returns a Step (bytes to send plus the next
// thing the connection must do) and is fed the outcome. Policy (who may send, which
// recipients exist, what happens to the message) is answered by the connection's
// SmtpPolicy and fed back in (docs/ARCHITECTURE.md "SMTP").
#include <any>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/sasl.hpp"
#include "base/limits.hpp"
#include "mail/address.hpp"
#include "smtp/proto/command.hpp"
#include "smtp/proto/data_reader.hpp"
#include "smtp/proto/reply.hpp"

namespace valija::smtp::server {

using proto::Reply;

struct EngineConfig {
  std::string hostname = "localhost";
  Limits limits;
  bool starttls_available = false;  // a certificate is configured for this listener
  bool tls_active = false;          // implicit TLS (465) or after STARTTLS
  bool smtputf8 = true;
  bool requiretls = false;  // REQUIRETLS offered once TLS is active (RFC 8689): outbound honours it
  // AUTH (RFC 4954) is offered (submission); without TLS only when auth_cleartext
  // (RFC 8314 §3: submission authenticates over TLS).
  bool auth = false;
  bool auth_cleartext = false;
  auth::SaslLimits sasl;
};

struct Recipient {
  mail::Mailbox address;
  proto::RcptParams params;  // RFC 3461 NOTIFY, ORCPT
  std::any route;  // what the policy resolved for this recipient (opaque to the engine)
};

struct Transaction {
  mail::Mailbox from;               // empty: null reverse-path
  proto::MailParams params;
  std::vector<Recipient> recipients;
  std::size_t rcpt_attempts = 0;
  std::string trace_id;
  std::string message;              // DATA (unstuffed) or the BDAT chunks so far
  std::uint64_t message_size = 0;   // octets seen, kept or not
  bool too_big = false;
  bool no_memory = false;           // content dropped: the server's message memory is spent
  bool bdat = false;                // BDAT chunks have started
  std::any checks;                  // what the policy started at MAIL (opaque to the engine)
};

// What the connection must do after sending Step::out.
namespace next {
struct ReadCommand {};
struct CheckMail {};                 // policy.mail(tx), then on_mail_checked
struct CheckRcpt {                   // policy.rcpt(tx, address), then on_rcpt_checked
  mail::Mailbox address;
  bool postmaster = false;
};
struct ReadData {};                  // DATA until CRLF.CRLF, then on_data
struct ReadChunk {                   // exactly `size` octets, then on_chunk
  std::uint64_t size = 0;
  bool last = false;
  bool keep = true;                  // false: read and discard (errors, oversize)
};
struct Deliver {};                   // policy.deliver(tx), then on_delivered
struct ReadAuthLine {};              // one SASL response line, then on_auth_line
struct AuthKeys {                    // SCRAM: look up the user's stored keys, then on_auth_keys
  std::string user;
  auth::SaslMechanism mechanism;
};
struct CheckAuth {                   // verify the credentials, then on_auth_checked
  auth::SaslCredentials credentials;
  std::string mechanism;
  auth::sasl::Proof proof = auth::sasl::Proof::None;  // SCRAM decided already
};
struct StartTls {};                  // discard buffered input, handshake, then on_tls
struct Close {};
}  // namespace next

using Next = std::variant<next::ReadCommand, next::CheckMail, next::CheckRcpt, next::ReadData, next::ReadChunk,
                          next::Deliver, next::StartTls, next::Close, next::ReadAuthLine, next::AuthKeys,
                          next::CheckAuth>;

struct Step {
  std::string out;
  Next next;
};

class Engine {
 public:
  explicit Engine(EngineConfig config);

  Step start(std::string_view client_address);
  // The connection is refused (a blocklisted client, RFC 5321 §3.1): `refusal` (a 554)
  // instead of the greeting, then 503 to everything but QUIT until the client leaves or
  // the error limit closes the connection. A 421 refusal closes at once.
  Step start_refused(Reply refusal);
  Step on_line(std::string_view line);
  Step on_line_too_long();
  // Policy answers. `reject` empty: accepted.
  Step on_mail_checked(std::optional<Reply> reject);
  Step on_rcpt_checked(const Reply& reply, std::any route);
  Step on_data(const proto::DataReader& reader);
  Step on_chunk(std::string_view bytes, bool kept_all);
  Step on_delivered(const Reply& reply);
  Step on_tls(bool ok);
  // AUTH: a response line of the exchange (or one too long), and the verdict on the
  // credentials: a 235 reply authenticates the session as `user`.
  Step on_auth_line(std::string_view line);
  Step on_auth_line_too_long();
  Step on_auth_keys(const auth::ScramKeys& keys);
  // The session's TLS channel bindings (after the handshake): SCRAM -PLUS is offered.
  void set_channel_bindings(auth::ChannelBindings b) { bindings_ = std::move(b); }
  Step on_auth_checked(const Reply& reply, std::string user);
  Step on_timeout();
  Step on_shutdown();

  Transaction& tx() { return tx_; }
  const Transaction& tx() const { return tx_; }
  bool in_transaction() const { return phase_ == Phase::Mail; }
  bool ehlo() const { return esmtp_; }
  bool tls_active() const { return config_.tls_active; }
  const std::string& helo_name() const { return helo_; }
  std::size_t transactions() const { return transactions_; }
  // Recipients refused in this session (address harvesting defence).
  std::size_t rcpt_refusals() const { return rcpt_refusals_; }
  const EngineConfig& config() const { return config_; }
  // The authenticated user (AUTH), empty before.
  const std::string& auth_user() const { return auth_user_; }
  // The longest line the connection must read: AUTH carries an initial response (RFC
  // 4954 §4: 12288 octets), other commands are held to the SMTP limit by the engine.
  std::size_t max_line() const;
  void set_starttls_available(bool v) { config_.starttls_available = v; }
  void set_tls_active() {
    config_.tls_active = true;
    parse_.requiretls_allowed = config_.requiretls;
  }
  // The last reply given to end of data (for the transaction log line).
  const std::string& last_reply() const { return last_reply_; }
  // Octets of the last message whose transaction ended (accepted or not).
  std::uint64_t last_size() const { return last_size_; }

 private:
  enum class Phase { Connected, Greeted, Mail, Refused, Closed };
  using Handler = Step (Engine::*)(const proto::Command&);
  struct CommandSpec;
  static const CommandSpec* find(proto::Verb v);

  Step reply(Reply r, Next n = next::ReadCommand{});
  Step error(Reply r);  // counts toward the error limit
  Step close_with(Reply r);
  void reset_tx();
  std::vector<std::string> ehlo_lines() const;
  Step no_memory();

  Step cmd_helo(const proto::Command& c);
  Step cmd_ehlo(const proto::Command& c);
  Step cmd_mail(const proto::Command& c);
  Step cmd_rcpt(const proto::Command& c);
  Step cmd_data(const proto::Command& c);
  Step cmd_bdat(const proto::Command& c);
  Step cmd_rset(const proto::Command& c);
  Step cmd_noop(const proto::Command& c);
  Step cmd_quit(const proto::Command& c);
  Step cmd_help(const proto::Command& c);
  Step cmd_vrfy(const proto::Command& c);
  Step cmd_expn(const proto::Command& c);
  Step cmd_starttls(const proto::Command& c);
  Step cmd_auth(const proto::Command& c);
  Step auth_step(auth::SaslStep step);
  bool auth_offered() const;

  EngineConfig config_;
  proto::ParseOptions parse_;
  Phase phase_ = Phase::Connected;
  bool esmtp_ = false;
  std::string helo_;
  Transaction tx_;
  std::size_t errors_ = 0;
  std::size_t transactions_ = 0;
  std::size_t rcpt_refusals_ = 0;
  std::uint64_t bdat_pending_ = 0;  // BDAT chunk being read
  bool bdat_last_ = false;
  bool bdat_keep_ = false;
  std::string last_reply_;
  std::uint64_t last_size_ = 0;
  mail::Mailbox pending_rcpt_;  // the RCPT address being checked by the policy
  proto::RcptParams pending_params_;
  Reply pending_problem_;       // the error to give once a refused BDAT chunk is read
  std::optional<auth::SaslServer> sasl_;  // an AUTH exchange in progress
  std::string auth_user_;
  auth::ChannelBindings bindings_;
};

}  // namespace valija::smtp::server
