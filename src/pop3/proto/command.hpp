#pragma once
// POP3 command parser (RFC 1939 §3, RFC 2449 §3, RFC 5034, RFC 2595, RFC 6856): one
// command line in, a typed command or a precise error out. Pure: no I/O, no state.
//
// Line limit: RFC 2449 §4 caps a command at 255 octets including CRLF. Some clients
// exceed it with long user names or AUTH initial responses, so the parser accepts up to
// kCommandLineLimit = 512 octets (as SMTP's RFC 5321 §4.5.3.1.4), and refuses longer
// lines; the 40-character argument cap of RFC 2449 §4 is not applied (e-mail addresses
// and passwords are longer).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace valija::pop3::proto {

// Octets of a command line including its CRLF.
constexpr std::size_t kCommandLineLimit = 512;
// Message numbers and TOP line counts: 1..2^31-1 and 0..2^31-1.
constexpr std::uint32_t kMaxNumber = 0x7FFFFFFF;

enum class Verb { User, Pass, Apop, Auth, Capa, Stls, Utf8, Stat, List, Retr, Dele, Noop, Rset, Top, Uidl, Quit };
std::string_view verb_name(Verb v);

struct Command {
  Verb verb{};
  std::string arg;                       // USER/APOP name, PASS password (verbatim), AUTH mechanism
  std::string digest;                    // APOP: 32 hex digits, lower-cased
  std::optional<std::string> initial_response;  // AUTH: base64 or "=" (RFC 5034 §4)
  std::optional<std::uint32_t> msg;      // LIST/UIDL optional; RETR/DELE/TOP required
  std::uint32_t lines = 0;               // TOP
};

enum class ParseErrc {
  Unknown,   // not a POP3 keyword we implement (the session continues)
  Syntax,    // a known keyword with bad or missing arguments, or bad characters
  Range,     // a number outside 1..2^31-1 (message) or 0..2^31-1 (TOP lines)
  TooLong,   // longer than the line limit
};

struct ParseError {
  ParseErrc code = ParseErrc::Syntax;
  std::string text;            // for "-ERR <text>"; never echoes the line (passwords)
  std::optional<Verb> verb;    // known keyword with bad arguments
};

// `line` is one command without its CRLF. `line_limit` counts the CRLF.
tl::expected<Command, ParseError> parse_command(std::string_view line, std::size_t line_limit = kCommandLineLimit);

}  // namespace valija::pop3::proto
