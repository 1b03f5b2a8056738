#pragma once
// SMTP command parser (RFC 5321 §4.1): one command line in, a typed command or the
// exact error reply out. Pure: no I/O, no state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mail/address.hpp"
#include "smtp/proto/reply.hpp"

namespace valija::smtp::proto {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Help, Vrfy, Expn, Starttls, Auth };
std::string_view verb_name(Verb v);

enum class BodyType { SevenBit, EightBitMime, BinaryMime };

enum class Ret { Unset, Full, Hdrs };

struct MailParams {
  std::optional<std::uint64_t> size;  // RFC 1870
  BodyType body = BodyType::SevenBit; // RFC 6152 / RFC 3030
  bool smtputf8 = false;              // RFC 6531
  Ret ret = Ret::Unset;               // RFC 3461 §4.3
  std::string envid;                  // RFC 3461 §4.4, xtext decoded
  bool requiretls = false;            // RFC 8689 §4.1
};

// RFC 3461 §4.1 NOTIFY, as bits; none: not given (the server's default).
namespace notify {
inline constexpr unsigned kNever = 1, kSuccess = 2, kFailure = 4, kDelay = 8;
}

struct RcptParams {
  unsigned notify = 0;
  std::string orcpt;  // RFC 3461 §4.2 "addr-type;address", xtext decoded; empty: not given
};

// RFC 3461 §4 xtext: "+" and two upper-case hex digits for octets outside 33-126, "+"
// and "="; nullopt when malformed.
std::optional<std::string> xtext_decode(std::string_view s);
std::string xtext_encode(std::string_view s);

struct Command {
  Verb verb{};
  std::string arg;                 // HELO/EHLO domain, VRFY/EXPN/HELP/NOOP text, AUTH args
  mail::Mailbox path;              // MAIL/RCPT (empty for the null reverse-path)
  bool postmaster = false;         // RCPT TO:<Postmaster> without a domain (RFC 5321 §4.1.1.3)
  MailParams params;               // MAIL
  RcptParams rcpt;                 // RCPT
  std::uint64_t chunk_size = 0;    // BDAT
  bool last = false;               // BDAT ... LAST
};

struct ParseOptions {
  mail::AddressLimits address;
  bool utf8_allowed = true;   // SMTPUTF8 advertised
  bool requiretls_allowed = false;  // REQUIRETLS advertised (only on a TLS session)
};

// `line` is the command without its CRLF. `smtputf8_tx` says the current transaction
// was opened with SMTPUTF8 (RCPT may then carry UTF-8 addresses).
tl::expected<Command, Reply> parse_command(std::string_view line, const ParseOptions& opts,
                                           bool smtputf8_tx = false);

}  // namespace valija::smtp::proto
