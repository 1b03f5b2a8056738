#pragma once
// The POP3 session engine: RFC 1939 (USER/PASS/APOP, STAT, LIST, RETR, DELE, NOOP, RSET,
// TOP, UIDL, QUIT), RFC 2449 (CAPA, RESP-CODES, PIPELINING, EXPIRE, LOGIN-DELAY,
// IMPLEMENTATION), RFC 3206 (AUTH-RESP-CODE), RFC 2595 (STLS), RFC 5034 (AUTH) and
// RFC 6856 (UTF8). Like the SMTP engine it does no I/O and holds no store: each input
// gives a Step (bytes to send plus what the connection must do next) and the connection
// feeds the outcome back. Credentials, the maildrop lock, the message list, message
// bodies and the final expunge are the connection's (docs/ARCHITECTURE.md "POP3").
//
// The connection's loop:
//   ReadCommand  read a line of at most line_limit() octets (CRLF included): on_line,
//                or on_line_too_long; on idle timeout on_timeout.
//   CheckLogin / CheckApop   verify, lock the maildrop, list INBOX: on_login.
//   Send         open message `index`; on failure discard Step::out and call
//                on_send_failed; else write Step::out, stream the message through
//                DotStuffer (and TopCutter for TOP, stuffing.hpp), then on_sent.
//   StartTls     write Step::out, DISCARD every byte already read (RFC 2595 §4,
//                CVE-2011-0411), handshake, on_tls.
//   Commit       expunge `deleted` durably, on_commit; nothing is deleted otherwise.
//   Close        write Step::out and close; a maildrop lock is released, nothing deleted.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/sasl.hpp"
#include "pop3/proto/command.hpp"

namespace valija::pop3::proto {

// POP3 limits (to join base/limits.hpp `Limits` as pop3_* fields).
struct Pop3Limits {
  // Command line including CRLF; RFC 2449 §4 says 255, see command.hpp for the 512.
  std::size_t command_line = kCommandLineLimit;
  // -ERR answers to client mistakes (unknown command, bad syntax, wrong state, no such
  // message, refused login) before the session is closed (Dovecot's bad-command limit).
  std::size_t errors = 20;
  // Refused logins in one session before it is closed. Delays and the per-address
  // lockout are the caller's (auth throttling, shared with SMTP and IMAP).
  std::size_t login_failures = 3;
  // Messages one session shows; a larger INBOX shows its newest `messages`, which is
  // what "leave mail on server" clients need (RFC 1939 does not require all of them).
  std::size_t messages = 100'000;
  // One SASL response, decoded (the response line limit follows from it).
  auth::SaslLimits sasl;
};

// RFC 2449 §6.7 EXPIRE: never, or days after retrieval (0: deleted when retrieved).
struct ExpirePolicy {
  bool never = true;
  std::uint32_t days = 0;
};

struct EngineConfig {
  std::string hostname = "localhost";
  std::string implementation = "valija";  // CAPA IMPLEMENTATION (RFC 2449 §6.9); empty: not listed
  bool stls_available = false;            // a certificate is configured for this listener
  bool tls_active = false;                // implicit TLS (995), or after STLS
  // USER/PASS and the SASL mechanisms that send the password, without TLS: only on
  // loopback or when configured (issue 3, DESIGN.md "Secure by default").
  bool cleartext_auth = false;
  // APOP (RFC 1939 §7) needs the cleartext secret in the store: off unless configured.
  bool apop = false;
  std::optional<ExpirePolicy> expire;        // listed in CAPA only when set
  std::optional<std::uint32_t> login_delay;  // seconds, RFC 2449 §6.8; listed only when set
  Pop3Limits limits;
};

// One message of the maildrop, fixed for the session (RFC 1939 §5 message numbers).
struct MaildropEntry {
  std::uint64_t size = 0;  // octets with CRLF line ends, before byte-stuffing
  std::string uidl;        // RFC 1939 §7: 1-70 octets in 0x21..0x7E, stable across sessions
};

enum class LoginResult {
  Ok,              // credentials good, maildrop locked and listed
  BadCredentials,  // -ERR [AUTH]: the same answer for an unknown user and a bad password
  InUse,           // -ERR [IN-USE]: another POP3 session holds the maildrop (RFC 2449 §8.1.2)
  LoginDelay,      // -ERR [LOGIN-DELAY] (RFC 2449 §8.1.1)
  TempFail,        // -ERR [SYS/TEMP] (RFC 3206 §4)
  PermFail,        // -ERR [SYS/PERM]: e.g. account disabled (RFC 3206 §4)
};

// What the connection must do after sending Step::out.
namespace next {
struct ReadCommand {};
struct CheckLogin {        // USER/PASS or AUTH: verify `password` for `user`, then on_login
  std::string user;
  std::string password;
  std::string method;      // "USER", "PLAIN", "LOGIN" (for the log)
  auth::sasl::Proof proof = auth::sasl::Proof::None;  // SCRAM: decided by the exchange
};
struct LookupKeys {        // SCRAM: the user's stored keys, then on_keys
  std::string user;
  auth::SaslMechanism mechanism;
};
struct CheckApop {         // RFC 1939 §7: digest == MD5(timestamp + secret), then on_login
  std::string user;
  std::string digest;      // 32 lower-case hex digits
  std::string timestamp;   // the one in the greeting, "<...>" included
};
struct Send {              // stream message `index` (index into the maildrop given to on_login)
  std::size_t index = 0;
  std::optional<std::uint32_t> top_lines;  // TOP: header plus this many body lines
};
struct StartTls {};
struct Commit {            // QUIT: remove these messages durably, then on_commit
  std::vector<std::size_t> deleted;  // indexes into the maildrop given to on_login
};
struct Close {};
}  // namespace next

using Next = std::variant<next::ReadCommand, next::CheckLogin, next::CheckApop, next::Send, next::StartTls,
                          next::Commit, next::Close, next::LookupKeys>;

struct Step {
  std::string out;
  Next next;
};

// RFC 1939 §7 APOP greeting timestamp "<token@hostname>" (a msg-id). The caller supplies
// a fresh random token per connection. nullopt if either part has characters that do not
// belong in a msg-id (then APOP is not offered on that connection).
std::optional<std::string> apop_timestamp(std::string_view token, std::string_view hostname);

class Engine {
 public:
  explicit Engine(EngineConfig config);

  // The greeting. `apop_token` is used only when APOP is configured.
  Step start(std::string_view apop_token = {});
  // One line without its CRLF: a command, or a SASL response during AUTH.
  Step on_line(std::string_view line);
  Step on_line_too_long();
  Step on_keys(const auth::ScramKeys& keys);
  // The TLS session's channel bindings (after the handshake): SCRAM -PLUS is offered.
  void set_channel_bindings(auth::ChannelBindings b) { bindings_ = std::move(b); }
  // Answer to CheckLogin / CheckApop. `maildrop` (INBOX, oldest first) only with Ok.
  Step on_login(LoginResult result, std::vector<MaildropEntry> maildrop = {});
  // `gone`: the message no longer exists (expunged over IMAP meanwhile): a plain -ERR,
  // not [SYS/TEMP], so the client does not retry forever.
  Step on_send_failed(bool gone = false);
  Step on_sent();
  Step on_tls(bool success);
  Step on_commit(bool success);
  // RFC 1939 §3: the autologout timer closes without a response and without UPDATE.
  Step on_timeout();
  // Server stop, between commands (a Commit in flight is awaited first): -ERR, close.
  Step on_shutdown();

  // Longest line to read next, CRLF included (longer during an AUTH exchange).
  std::size_t line_limit() const;
  bool authenticated() const { return authenticated_; }
  bool tls_active() const { return config_.tls_active; }
  bool utf8() const { return utf8_; }
  // The account name given at login (for logs), once authenticated.
  const std::string& user() const { return user_; }
  std::size_t errors() const { return errors_; }
  std::size_t login_failures() const { return login_failures_; }
  // For the logout log line: RETRs completed, their octets, messages deleted by QUIT.
  std::size_t retrieved() const { return retrieved_; }
  std::uint64_t retrieved_octets() const { return retrieved_octets_; }
  std::size_t expunged() const { return expunged_; }
  const EngineConfig& config() const { return config_; }

 private:
  // Phases (STYLE.md: a variant of small structs).
  struct Authorization {
    std::optional<std::string> user;  // USER accepted, PASS expected next
  };
  struct Authenticating {
    auth::SaslServer sasl;
  };
  struct CheckingLogin {
    std::string user;
  };
  struct AwaitingKeys {
    auth::SaslServer sasl;
  };
  struct Transaction {};
  struct Sending {
    std::size_t number = 0;  // message number (1-based)
    bool top = false;
  };
  struct StartingTls {};
  struct Update {};
  struct Closed {};
  using Phase = std::variant<Authorization, Authenticating, CheckingLogin, Transaction, Sending, StartingTls,
                             Update, Closed, AwaitingKeys>;

  using Handler = Step (Engine::*)(const Command&);
  struct CommandSpec;
  static const CommandSpec* find(Verb v);

  Step ok(std::string_view text, Next n = next::ReadCommand{});
  Step error(std::string_view text);  // counts toward the error limit
  Step close_with(std::string line);
  Step login_failed(std::string_view text);
  Step sasl_step(auth::SaslStep step, auth::SaslServer sasl);
  bool cleartext_ok() const { return config_.tls_active || config_.cleartext_auth; }
  // Every mechanism only over TLS (or where cleartext is allowed): SCRAM sends no
  // password, but an eavesdropper could still try to guess it offline from the exchange.
  std::vector<auth::SaslMechanism> mechanisms() const {
    if (!cleartext_ok()) return {};
    return auth::sasl_mechanisms(true, true, bindings_.any());
  }
  std::string_view cleartext_refusal() const;
  // Message number → index into drop_, or the -ERR text.
  std::optional<std::size_t> message(std::uint32_t number, std::string& why) const;
  std::size_t live_count() const { return drop_.size() - deleted_count_; }
  std::uint64_t live_octets() const { return total_octets_ - deleted_octets_; }

  Step cmd_user(const Command& c);
  Step cmd_pass(const Command& c);
  Step cmd_apop(const Command& c);
  Step cmd_auth(const Command& c);
  Step cmd_capa(const Command& c);
  Step cmd_stls(const Command& c);
  Step cmd_utf8(const Command& c);
  Step cmd_stat(const Command& c);
  Step cmd_list(const Command& c);
  Step cmd_retr(const Command& c);
  Step cmd_dele(const Command& c);
  Step cmd_noop(const Command& c);
  Step cmd_rset(const Command& c);
  Step cmd_top(const Command& c);
  Step cmd_uidl(const Command& c);
  Step cmd_quit(const Command& c);

  EngineConfig config_;
  auth::ChannelBindings bindings_;
  Phase phase_ = Authorization{};
  std::optional<std::string> apop_timestamp_;
  bool authenticated_ = false;
  bool utf8_ = false;
  std::string user_;
  std::size_t errors_ = 0;
  std::size_t login_failures_ = 0;
  // The maildrop, fixed at login. drop_[i] is message number i + 1; offset_ maps it back
  // to the caller's index when the listing was cut to the newest `limits.messages`.
  std::vector<MaildropEntry> drop_;
  std::vector<bool> deleted_;
  std::size_t offset_ = 0;
  std::size_t deleted_count_ = 0;
  std::uint64_t total_octets_ = 0;
  std::uint64_t deleted_octets_ = 0;
  std::size_t retrieved_ = 0;
  std::uint64_t retrieved_octets_ = 0;
  std::size_t expunged_ = 0;
};

}  // namespace valija::pop3::proto
