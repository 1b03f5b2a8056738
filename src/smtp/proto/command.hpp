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

struct MailParams {
  std::optional<std::uint64_t> size;  // RFC 1870
  BodyType body = BodyType::SevenBit; // RFC 6152 / RFC 3030
  bool smtputf8 = false;              // RFC 6531
};

struct Command {
  Verb verb{};
  std::string arg;                 // HELO/EHLO domain, VRFY/EXPN/HELP/NOOP text, AUTH args
  mail::Mailbox path;              // MAIL/RCPT (empty for the null reverse-path)
  bool postmaster = false;         // RCPT TO:<Postmaster> without a domain (RFC 5321 §4.1.1.3)
  MailParams params;               // MAIL
  std::uint64_t chunk_size = 0;    // BDAT
  bool last = false;               // BDAT ... LAST
};

struct ParseOptions {
  mail::AddressLimits address;
  bool utf8_allowed = true;   // SMTPUTF8 advertised
};

// `line` is the command without its CRLF. `smtputf8_tx` says the current transaction
// was opened with SMTPUTF8 (RCPT may then carry UTF-8 addresses).
tl::expected<Command, Reply> parse_command(std::string_view line, const ParseOptions& opts,
                                           bool smtputf8_tx = false);

}  // namespace valija::smtp::proto
