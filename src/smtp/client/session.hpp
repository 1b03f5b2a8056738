#pragma once
// The SMTP client's protocol core (RFC 5321 §3-4, with PIPELINING RFC 2920, STARTTLS
// RFC 3207, SIZE RFC 1870, 8BITMIME RFC 6152, SMTPUTF8 RFC 6531, DSN RFC 3461 and
// REQUIRETLS RFC 8689): the whole dialogue of one connection as a state machine that
// reads the server's replies and says what to do next. No sockets, no timers: the
// outbound connection performs the actions, so every path is unit-tested against
// scripted replies.
//
//   ClientSession s(options);
//   act on s.start()                      (wait for the greeting)
//   for each reply: act on s.on_reply(r)  (Send, StartTls, SendBody, Ready, Close)
//   on Ready: s.begin(envelope) or s.quit()
//   after StartTls: s.tls_started() (or s.tls_failed())
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "smtp/client/capabilities.hpp"
#include "smtp/proto/reply.hpp"

namespace valija::smtp::client {

enum class TlsPolicy {
  None,           // never STARTTLS (a relay on loopback)
  Opportunistic,  // STARTTLS when offered; continue in clear if it is not (RFC 3207 §4.1)
  Required,       // no TLS, no mail: the host is skipped (temporary)
};

struct ClientOptions {
  std::string helo_name;  // our host name, for EHLO/HELO
  TlsPolicy tls = TlsPolicy::Opportunistic;
  bool implicit_tls = false;  // the connection is TLS from the start (port 465)
  // AUTH (RFC 4954) with PLAIN, else LOGIN, after EHLO (and STARTTLS): a relay that
  // wants it. Empty user: no AUTH. Never sent in the clear unless tls is None.
  std::string auth_user, auth_password;
};

struct Recipient {
  std::string address;     // as it goes between < and >
  std::string dsn_params;  // " NOTIFY=... ORCPT=..." (RFC 3461), sent only to a DSN server
};

struct Envelope {
  std::string from;  // "" for the null sender (bounces)
  std::vector<Recipient> rcpts;
  std::uint64_t size = 0;      // octets of the message as it will be sent
  bool eight_bit = false;      // BODY=8BITMIME needed (RFC 6152)
  bool binary = false;         // BODY=BINARYMIME: only with BDAT, to a server offering both (RFC 3030)
  bool smtputf8 = false;       // UTF-8 addresses or headers (RFC 6531)
  bool requiretls = false;     // the sender asked for REQUIRETLS (RFC 8689)
  std::string dsn_params;      // " RET=... ENVID=..." (RFC 3461), sent only to a DSN server
};

enum class Verdict { Delivered, Temporary, Permanent };

struct RcptResult {
  Verdict verdict = Verdict::Temporary;
  proto::Reply reply;  // the server's, or one of ours saying why (e.g. 552 5.3.4 too big)
};

// What the connection should do next.
namespace act {
struct Wait {};                // read more replies
struct Send {                  // write these bytes, then read replies
  std::string bytes;
  bool secret = false;         // a credential: never shown in a transcript or log
};
struct StartTls {};            // handshake now, then tls_started() or tls_failed()
struct SendBody {              // write the message, then read its reply:
  bool chunked = false;        // as "BDAT <size> LAST" and the octets as they are (RFC 3030);
};                             // otherwise dot-stuffed, ending CRLF . CRLF (after DATA's 354)
struct Ready {};               // the transaction ended: results(); then begin() another, or quit()
struct Close {};               // close the connection (after QUIT's reply, or the server said 421)
}  // namespace act
using Action = std::variant<act::Wait, act::Send, act::StartTls, act::SendBody, act::Ready, act::Close>;

class ClientSession {
 public:
  explicit ClientSession(ClientOptions options) : opt_(std::move(options)) {}

  Action start() { return act::Wait{}; }
  Action on_reply(const proto::Reply& r);
  Action tls_started();
  Action tls_failed();
  // A transaction on this connection (after Ready).
  Action begin(Envelope envelope);
  Action quit();

  // Per recipient of the last transaction, in the order given.
  const std::vector<RcptResult>& results() const { return results_; }
  // When the connection itself failed (greeting, EHLO, TLS, 421, unreadable replies): why,
  // for the queue's "last reply" and logs. Every recipient then got Temporary.
  const std::optional<proto::Reply>& failure() const { return failure_; }
  const Capabilities& capabilities() const { return caps_; }
  bool tls() const { return tls_; }
  // How long to wait for the reply now expected (RFC 5321 §4.5.3.2).
  std::chrono::seconds reply_timeout() const;

 private:
  enum class State {
    Greeting, Ehlo, Helo, StartTls, Handshake, AuthUser, AuthPassword, AuthResult,
    Idle, Replies, Body, AbortData, Rset, Quit, Closed
  };
  enum class Expect { Mail, Rcpt, Data };

  Action ehlo();
  Action after_ehlo();
  Action authenticate();  // AUTH when configured, else Ready
  Action fail_connection(proto::Reply why);
  Action on_transaction_reply(const proto::Reply& r);
  Action next_command();
  Action end_transaction();
  Action after_envelope();  // every envelope reply is in: BDAT the message, or end
  // Every recipient still undecided (or, with `accepted_only`, accepted by RCPT) gets `v`.
  void settle(Verdict v, const proto::Reply& r, bool accepted_only);
  static Verdict verdict_of(const proto::Reply& r);
  std::string mail_command() const;
  std::string rcpt_command(std::size_t i) const;

  ClientOptions opt_;
  State state_ = State::Greeting;
  Capabilities caps_;
  bool tls_ = false;
  std::optional<Envelope> env_;
  std::vector<Expect> expected_;  // replies still to come for the commands sent
  std::size_t rcpt_index_ = 0;
  std::vector<bool> accepted_;    // RCPT answered 2xx
  std::vector<bool> decided_;     // results_[i] is final
  bool mail_ok_ = false;
  bool pipelined_ = false;
  std::vector<RcptResult> results_;
  std::optional<proto::Reply> failure_;
};

}  // namespace valija::smtp::client
