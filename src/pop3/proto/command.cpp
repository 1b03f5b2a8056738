#include "pop3/proto/command.hpp"

#include <array>
#include <vector>

#include "base/text.hpp"

namespace valija::pop3::proto {
namespace {

enum class Args {
  None,      // STAT, NOOP, RSET, QUIT, CAPA, STLS, UTF8
  Name,      // USER
  Rest,      // PASS: the rest of the line, spaces included (RFC 1939 §7)
  NameHex,   // APOP name digest
  Auth,      // AUTH [mechanism [initial-response]]
  OptMsg,    // LIST, UIDL
  Msg,       // RETR, DELE
  MsgLines,  // TOP
};

struct VerbEntry {
  std::string_view name;
  Verb verb;
  Args args;
  std::string_view usage;
};

constexpr std::array<VerbEntry, 16> kVerbs{{
    {"USER", Verb::User, Args::Name, "USER name"},
    {"PASS", Verb::Pass, Args::Rest, "PASS password"},
    {"APOP", Verb::Apop, Args::NameHex, "APOP name digest"},
    {"AUTH", Verb::Auth, Args::Auth, "AUTH [mechanism [initial-response]]"},
    {"CAPA", Verb::Capa, Args::None, "CAPA"},
    {"STLS", Verb::Stls, Args::None, "STLS"},
    {"UTF8", Verb::Utf8, Args::None, "UTF8"},
    {"STAT", Verb::Stat, Args::None, "STAT"},
    {"LIST", Verb::List, Args::OptMsg, "LIST [msg]"},
    {"RETR", Verb::Retr, Args::Msg, "RETR msg"},
    {"DELE", Verb::Dele, Args::Msg, "DELE msg"},
    {"NOOP", Verb::Noop, Args::None, "NOOP"},
    {"RSET", Verb::Rset, Args::None, "RSET"},
    {"TOP", Verb::Top, Args::MsgLines, "TOP msg lines"},
    {"UIDL", Verb::Uidl, Args::OptMsg, "UIDL [msg]"},
    {"QUIT", Verb::Quit, Args::None, "QUIT"},
}};

tl::unexpected<ParseError> err(ParseErrc code, std::string text, std::optional<Verb> verb = std::nullopt) {
  return tl::unexpected(ParseError{code, std::move(text), verb});
}

// A user name: printable, no space, UTF-8 allowed (RFC 6856 §2).
bool is_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7F) return false;
  return text::valid_utf8(s);
}

// RFC 4422 §3.1: sasl-mech = 1*20 (ALPHA / DIGIT / "-" / "_"); lower case tolerated.
bool is_mechanism(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Printable ASCII without space; the SASL module decodes it strictly.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c >= 0x7F) return false;
  return true;
}

// Strict decimal: digits only (no sign, no space), leading zeros allowed, bounded.
enum class Num { Ok, Syntax, Range };
Num parse_number(std::string_view s, std::uint32_t min, std::uint32_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return Num::Syntax;
  while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
  if (s.size() > 10) return Num::Range;
  std::uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  if (v < min || v > kMaxNumber) return Num::Range;
  out = static_cast<std::uint32_t>(v);
  return Num::Ok;
}

// Arguments separated by exactly one space; an empty argument (two spaces) is a syntax
// error. Trailing spaces are tolerated (and dropped) because some clients send them.
bool split_args(std::string_view rest, std::vector<std::string_view>& out) {
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty()) return true;
  while (true) {
    auto sp = rest.find(' ');
    auto a = rest.substr(0, sp);
    if (a.empty()) return false;
    out.push_back(a);
    if (sp == std::string_view::npos) return true;
    rest.remove_prefix(sp + 1);
    if (out.size() == 3) {  // no command takes three: the caller refuses, no need to go on
      out.push_back(rest);
      return true;
    }
  }
}

}  // namespace

std::string_view verb_name(Verb v) {
  for (const auto& e : kVerbs)
    if (e.verb == v) return e.name;
  return "?";
}

tl::expected<Command, ParseError> parse_command(std::string_view line, std::size_t line_limit) {
  if (line.size() + 2 > line_limit)
    return err(ParseErrc::TooLong, "Line too long (limit " + std::to_string(line_limit) + " octets)");
  for (char c : line)
    if (c == '\0' || c == '\r' || c == '\n') return err(ParseErrc::Syntax, "Invalid character in command");

  auto sp = line.find(' ');
  auto word = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  if (word.empty()) return err(ParseErrc::Syntax, "Empty command");
  const VerbEntry* entry = nullptr;
  for (const auto& e : kVerbs)
    if (text::iequals(word, e.name)) entry = &e;
  if (!entry) return err(ParseErrc::Unknown, "Unknown command");

  Command cmd;
  cmd.verb = entry->verb;
  auto syntax = [&](std::string_view why = {}) {
    std::string t = "Syntax: " + std::string(entry->usage);
    if (!why.empty()) t = std::string(why) + " (" + t + ")";
    return err(ParseErrc::Syntax, std::move(t), entry->verb);
  };

  if (entry->args == Args::Rest) {
    // RFC 1939 §7: PASS has one argument, so spaces are part of the password. 8-bit
    // octets are allowed (RFC 6856 UTF-8 passwords, legacy charsets); controls are not.
    if (rest.empty()) return syntax("Password required");
    for (unsigned char c : rest)
      if (c < 0x20 || c == 0x7F) return syntax("Invalid character in password");
    cmd.arg.assign(rest);
    return cmd;
  }

  std::vector<std::string_view> args;
  if (!split_args(rest, args)) return syntax("Arguments must be separated by one space");
  auto number = [&](std::string_view s, std::uint32_t min, std::uint32_t& out) -> std::optional<ParseError> {
    switch (parse_number(s, min, out)) {
      case Num::Ok: return std::nullopt;
      case Num::Syntax: return ParseError{ParseErrc::Syntax, "Invalid number (Syntax: " + std::string(entry->usage) + ")", entry->verb};
      case Num::Range:
        return ParseError{ParseErrc::Range, min ? "Invalid message number" : "Invalid line count", entry->verb};
    }
    return std::nullopt;
  };

  switch (entry->args) {
    case Args::None:
      if (!args.empty()) return syntax("No arguments allowed");
      return cmd;
    case Args::Name:
      if (args.size() != 1) return syntax();
      if (!is_name(args[0])) return syntax("Invalid user name");
      cmd.arg.assign(args[0]);
      return cmd;
    case Args::NameHex: {
      // RFC 1939 §7: APOP name digest, the digest being 16 octets as 32 hex digits.
      if (args.size() != 2) return syntax();
      if (!is_name(args[0])) return syntax("Invalid user name");
      if (args[1].size() != 32 || args[1].find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
        return syntax("Digest must be 32 hex digits");
      cmd.arg.assign(args[0]);
      cmd.digest = text::to_lower(args[1]);
      return cmd;
    }
    case Args::Auth:
      // RFC 5034 §4: AUTH mechanism [initial-response]; bare AUTH lists mechanisms.
      if (args.size() > 2) return syntax();
      if (!args.empty()) {
        if (!is_mechanism(args[0])) return syntax("Invalid mechanism name");
        cmd.arg.assign(args[0]);
      }
      if (args.size() == 2) {
        if (!is_token(args[1])) return syntax("Invalid initial response");
        cmd.initial_response.emplace(args[1]);
      }
      return cmd;
    case Args::OptMsg:
    case Args::Msg: {
      if (args.size() > 1 || (entry->args == Args::Msg && args.empty())) return syntax();
      if (args.empty()) return cmd;
      std::uint32_t n = 0;
      if (auto e = number(args[0], 1, n)) return tl::unexpected(*e);
      cmd.msg = n;
      return cmd;
    }
    case Args::MsgLines: {
      // RFC 1939 §7: TOP msg n, both required, n non-negative.
      if (args.size() != 2) return syntax();
      std::uint32_t n = 0, lines = 0;
      if (auto e = number(args[0], 1, n)) return tl::unexpected(*e);
      if (auto e = number(args[1], 0, lines)) return tl::unexpected(*e);
      cmd.msg = n;
      cmd.lines = lines;
      return cmd;
    }
    case Args::Rest:
      break;
  }
  return err(ParseErrc::Unknown, "Unknown command");
}

}  // namespace valija::pop3::proto
