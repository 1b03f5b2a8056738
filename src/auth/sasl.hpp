#pragma once
// Server side of SASL (RFC 4422), shared by SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034)
// and IMAP AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR RFC 4959). Pure: no I/O, no store,
// no password check. The protocol layer frames the exchange; this module only turns the
// client's base64 lines into challenges and, at the end, the credentials it received.
//
//   auto sasl = SaslServer::create("PLAIN");          // nullopt: unknown mechanism
//   SaslStep s = sasl->start(initial_response);      // nullopt / "=" (empty) / base64
//   while (auto* c = std::get_if<sasl::Challenge>(&s))
//     s = sasl->on_response(read_line());            // base64, or "*" to cancel
//   // Done: the caller verifies the credentials against the store.
//
// SCRAM (RFC 5802, RFC 7677) needs the user's stored keys mid-exchange: it returns
// `sasl::NeedKeys{authcid}`; the caller looks them up (worker pool) and feeds them with
// `on_keys(...)`. The mechanism checks the client's proof itself, sends its own proof
// (the server-final message) as a last challenge answered by an empty line, and `Done`
// then says Verified (or Rejected: a wrong password). Each mechanism is one class behind
// `SaslServer::Exchange` (sasl.cpp, scram.cpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "base/base64.hpp"
#include <variant>
#include <vector>

namespace valija::auth {

// Base64 as SASL profiles use it (base/base64.hpp): padded, no line breaks, strict.
using valija::base64_decode;
using valija::base64_encode;
using valija::Base64Error;
using valija::base64_error_text;

// --- Mechanisms ---
enum class SaslMechanism { Plain, Login, ScramSha1, ScramSha256, ScramSha1Plus, ScramSha256Plus };

struct SaslLimits {
  // Decoded octets of one client response (or initial response). PLAIN carries two
  // identities and a password, so 8 KiB leaves room for long tokens; the base64 line
  // is then at most 10,924 octets (sasl_line_limit).
  std::size_t max_response = 8192;
};

// Case-insensitive (RFC 4422 §3.1 names are upper case; clients vary). nullopt: unknown.
std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name);
std::string_view sasl_mechanism_name(SaslMechanism m);
// True when the mechanism puts the password itself on the wire (PLAIN, LOGIN): such a
// mechanism is offered only over TLS, or where cleartext is allowed (loopback, config).
bool sasl_sends_password(SaslMechanism m);
// The mechanisms to offer, in the order to list them (CAPA SASL, EHLO AUTH, IMAP
// CAPABILITY AUTH=): those that send the password only when `cleartext_allowed`; SCRAM
// when the protocol runs NeedKeys (`scram`), its -PLUS forms when the session has TLS
// channel bindings (`plus`).
std::vector<SaslMechanism> sasl_mechanisms(bool cleartext_allowed, bool scram = false, bool plus = false);
bool sasl_is_scram(SaslMechanism m);
// Longest client response line (base64, without CRLF) a protocol must accept to honour
// `limits`; the line reader is sized from this.
std::size_t sasl_line_limit(const SaslLimits& limits);

struct SaslCredentials {
  std::string authzid;   // authorization identity; empty: same as authcid
  std::string authcid;   // authentication identity (the user name)
  std::string password;  // empty for SCRAM (which proves knowledge of it instead)
};

// What SCRAM stores for a user (RFC 5802 §3): raw octets, not base64.
struct ScramKeys {
  std::uint32_t iterations = 0;
  std::string salt;
  std::string stored_key;
  std::string server_key;
};

// TLS channel bindings of the session (RFC 5929 §4, RFC 9266), raw octets; empty when
// the session has no TLS or the binding is not available.
struct ChannelBindings {
  std::string tls_exporter;          // TLS 1.3 only (RFC 9266 §2)
  std::string tls_server_end_point;  // the hash of the server certificate
  bool any() const { return !tls_exporter.empty() || !tls_server_end_point.empty(); }
};

enum class SaslErrc {
  Encoding,   // the response is not valid base64
  TooLong,    // the response exceeds SaslLimits::max_response
  Malformed,  // decoded, but not what the mechanism expects
  Finished,   // a response after the exchange ended (a caller bug, or a confused client)
};

namespace sasl {
struct Challenge {
  std::string data;  // raw bytes; the protocol base64-encodes them ("+ " / "334 ")
};
enum class Proof {
  None,      // PLAIN, LOGIN: the caller checks the password against the store
  Verified,  // SCRAM: the client proved it knows the password
  Rejected,  // SCRAM: it did not (a wrong password, or an unknown user)
};
struct Done {
  SaslCredentials credentials;
  Proof proof = Proof::None;
};
struct NeedKeys {        // SCRAM: look up the user's keys, then on_keys()
  std::string authcid;
};
struct Failed {
  SaslErrc code;
  std::string reason;  // for the log; never echoes secrets
};
struct Cancelled {};  // the client sent "*" (RFC 4954 §4, RFC 5034 §4, RFC 9051 §6.2.2)
}  // namespace sasl

using SaslStep = std::variant<sasl::Challenge, sasl::Done, sasl::Failed, sasl::Cancelled, sasl::NeedKeys>;

class SaslServer {
 public:
  explicit SaslServer(SaslMechanism mechanism, SaslLimits limits = {}, ChannelBindings bindings = {});
  static std::optional<SaslServer> create(std::string_view mechanism_name, SaslLimits limits = {});
  SaslServer(SaslServer&&) noexcept;
  SaslServer& operator=(SaslServer&&) noexcept;
  ~SaslServer();

  // The first step. `initial_response`: nullopt when the command carried none, "=" for
  // an empty one (RFC 4954 §4, RFC 5034 §4, RFC 4959 §3), else base64. "*" here is not a
  // cancellation but bad base64.
  SaslStep start(std::optional<std::string_view> initial_response);
  // One client line (without CRLF) after a Challenge: base64 (possibly empty), or "*".
  SaslStep on_response(std::string_view line);
  // After NeedKeys: the user's keys for this mechanism's hash (fake ones for an unknown
  // user, so the exchange looks the same and ends Rejected).
  SaslStep on_keys(const ScramKeys& keys);

  SaslMechanism mechanism() const { return mechanism_; }
  // Done, Failed or Cancelled has been returned; further input gives Failed{Finished}.
  bool finished() const { return finished_; }

  class Exchange;  // one implementation per mechanism (sasl.cpp)

 private:
  SaslStep finish(SaslStep s);

  SaslMechanism mechanism_;
  SaslLimits limits_;
  std::unique_ptr<Exchange> exchange_;
  bool awaiting_keys_ = false;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace valija::auth
