#include "smtp/proto/command.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "base/text.hpp"

namespace valija::smtp::proto {
namespace {

struct VerbEntry {
  std::string_view name;
  Verb verb;
};

constexpr std::array<VerbEntry, 14> kVerbs{{
    {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit}, {"HELP", Verb::Help}, {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn},
    {"STARTTLS", Verb::Starttls}, {"AUTH", Verb::Auth},
}};

tl::unexpected<Reply> err(int code, const char* status, std::string text) {
  return tl::unexpected(Reply(code, status, std::move(text)));
}

bool is_keyword(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return k.front() != '-';
}

bool is_value(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c < 33 || c == '=' || c == 127) return false;
  return true;
}

constexpr std::size_t kMaxEnvid = 100;  // RFC 3461 §4.4
constexpr std::size_t kMaxOrcpt = 500;  // RFC 3461 §4.2

// Calls f(key, value, has_value) for each "KEY=VALUE" or "KEY" parameter (RFC 5321
// §4.1.2 Mail-parameters); the first error reply f or the syntax gives ends it.
template <class F>
std::optional<Reply> each_param(std::string_view rest, F f) {
  while (true) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
    auto sp = rest.find(' ');
    auto param = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    auto eq = param.find('=');
    auto key = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (!is_keyword(key) || (eq != std::string_view::npos && !is_value(value)))
      return Reply(501, "5.5.4", "Syntax error in parameters");
    if (auto e = f(key, value, eq != std::string_view::npos)) return e;
  }
}

tl::expected<MailParams, Reply> parse_mail_params(std::string_view rest, const ParseOptions& opts) {
  MailParams p;
  bool seen_size = false, seen_body = false, seen_envid = false;
  auto e = each_param(rest, [&](std::string_view key, std::string_view value, bool has_value) -> std::optional<Reply> {
    if (text::iequals(key, "SIZE")) {
      // RFC 1870: size-value = 1*20DIGIT; a valid value beyond 2^64 is simply too big.
      bool digits = !value.empty() && value.size() <= 20 &&
                    value.find_first_not_of("0123456789") == std::string_view::npos;
      if (!digits || seen_size) return Reply(501, "5.5.4", "Syntax error in SIZE parameter");
      auto n = text::parse_u64(value);
      seen_size = true;
      p.size = n.value_or(UINT64_MAX);
    } else if (text::iequals(key, "BODY")) {
      if (seen_body) return Reply(501, "5.5.4", "Duplicate BODY parameter");
      seen_body = true;
      if (text::iequals(value, "7BIT")) p.body = BodyType::SevenBit;
      else if (text::iequals(value, "8BITMIME")) p.body = BodyType::EightBitMime;
      else if (text::iequals(value, "BINARYMIME")) p.body = BodyType::BinaryMime;
      else return Reply(501, "5.5.4", "Unknown BODY type");
    } else if (text::iequals(key, "SMTPUTF8")) {
      if (has_value || p.smtputf8) return Reply(501, "5.5.4", "Syntax error in SMTPUTF8 parameter");
      p.smtputf8 = true;
    } else if (text::iequals(key, "RET")) {
      if (p.ret != Ret::Unset) return Reply(501, "5.5.4", "Duplicate RET parameter");
      if (text::iequals(value, "FULL")) p.ret = Ret::Full;
      else if (text::iequals(value, "HDRS")) p.ret = Ret::Hdrs;
      else return Reply(501, "5.5.4", "Syntax: RET=FULL or RET=HDRS");
    } else if (text::iequals(key, "ENVID")) {
      auto id = xtext_decode(value);
      if (seen_envid || !has_value || !id || value.size() > kMaxEnvid)
        return Reply(501, "5.5.4", "Syntax error in ENVID parameter");
      seen_envid = true;
      p.envid = std::move(*id);
    } else if (text::iequals(key, "REQUIRETLS") && opts.requiretls_allowed) {
      if (has_value || p.requiretls) return Reply(501, "5.5.4", "Syntax error in REQUIRETLS parameter");
      p.requiretls = true;
    } else {
      return Reply(555, "5.5.4", "Unsupported parameter " + std::string(key));
    }
    return std::nullopt;
  });
  if (e) return tl::unexpected(*e);
  return p;
}

tl::expected<RcptParams, Reply> parse_rcpt_params(std::string_view rest) {
  RcptParams p;
  bool seen_notify = false;
  auto e = each_param(rest, [&](std::string_view key, std::string_view value, bool) -> std::optional<Reply> {
    if (text::iequals(key, "NOTIFY")) {
      // "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY.
      if (seen_notify) return Reply(501, "5.5.4", "Duplicate NOTIFY parameter");
      seen_notify = true;
      while (true) {
        auto comma = value.find(',');
        auto word = value.substr(0, comma);
        unsigned bit = text::iequals(word, "NEVER")     ? notify::kNever
                       : text::iequals(word, "SUCCESS") ? notify::kSuccess
                       : text::iequals(word, "FAILURE") ? notify::kFailure
                       : text::iequals(word, "DELAY")   ? notify::kDelay
                                                        : 0;
        if (!bit || (p.notify & bit)) return Reply(501, "5.5.4", "Syntax error in NOTIFY parameter");
        p.notify |= bit;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
      }
      if ((p.notify & notify::kNever) && p.notify != notify::kNever)
        return Reply(501, "5.5.4", "NOTIFY=NEVER cannot be combined");
    } else if (text::iequals(key, "ORCPT")) {
      // addr-type ";" xtext (RFC 3461 §4.2)
      auto semi = value.find(';');
      if (!p.orcpt.empty() || semi == std::string_view::npos || semi == 0 || value.size() > kMaxOrcpt ||
          !is_keyword(value.substr(0, semi)))
        return Reply(501, "5.5.4", "Syntax error in ORCPT parameter");
      auto addr = xtext_decode(value.substr(semi + 1));
      if (!addr || addr->empty()) return Reply(501, "5.5.4", "Syntax error in ORCPT parameter");
      p.orcpt = std::string(value.substr(0, semi + 1)) + *addr;
    } else {
      return Reply(555, "5.5.4", "Unsupported parameter " + std::string(key));
    }
    return std::nullopt;
  });
  if (e) return tl::unexpected(*e);
  return p;
}

// "FROM:" / "TO:" followed by a path; tolerates one space after the colon, as most
// servers do for broken clients.
tl::expected<std::string_view, Reply> strip_prefix(std::string_view arg, std::string_view prefix,
                                                   const char* usage) {
  if (!text::istarts_with(arg, prefix)) return err(501, "5.5.4", std::string("Syntax: ") + usage);
  arg.remove_prefix(prefix.size());
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  return arg;
}

Reply address_reply(mail::AddressError e, bool sender) {
  if (e == mail::AddressError::Utf8NotAllowed)
    return Reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");  // RFC 6531 §3.7.4.1
  return Reply(501, sender ? "5.1.7" : "5.1.3", std::string(mail::address_error_text(e)));
}

}  // namespace

std::optional<std::string> xtext_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return std::nullopt;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string xtext_encode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 33 || c > 126 || c == '+' || c == '=') out += fmt::format("+{:02X}", c);
    else out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string_view verb_name(Verb v) {
  for (const auto& e : kVerbs)
    if (e.verb == v) return e.name;
  return "?";
}

tl::expected<Command, Reply> parse_command(std::string_view line, const ParseOptions& opts,
                                           bool smtputf8_tx) {
  for (unsigned char c : line) {
    if (c == 0 || c == '\r' || c == '\n') return err(500, "5.5.2", "Invalid character in command");
  }
  auto sp = line.find(' ');
  auto word = line.substr(0, sp);
  std::string_view arg = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  const VerbEntry* entry = nullptr;
  for (const auto& e : kVerbs)
    if (text::iequals(word, e.name)) entry = &e;
  if (!entry) return err(500, "5.5.1", "Command unrecognized");

  Command cmd;
  cmd.verb = entry->verb;
  switch (cmd.verb) {
    case Verb::Helo:
    case Verb::Ehlo: {
      arg = text::trim(arg);
      if (arg.empty()) return err(501, "5.5.4", std::string("Syntax: ") + std::string(entry->name) + " hostname");
      for (unsigned char c : arg)
        if (c < 33 || c == 127) return err(501, "5.5.4", "Invalid hostname");
      cmd.arg.assign(arg.substr(0, 255));
      return cmd;
    }
    case Verb::Mail: {
      auto a = strip_prefix(arg, "FROM:", "MAIL FROM:<address>");
      if (!a) return tl::unexpected(a.error());
      std::string_view rest;
      auto path = mail::parse_path(*a, true, opts.utf8_allowed, opts.address, rest);
      if (!path) return tl::unexpected(address_reply(path.error(), true));
      if (!rest.empty() && rest.front() != ' ') return err(501, "5.5.4", "Syntax error after address");
      auto params = parse_mail_params(rest, opts);
      if (!params) return tl::unexpected(params.error());
      if (params->smtputf8 && !opts.utf8_allowed) return err(555, "5.5.4", "SMTPUTF8 not available");
      if (path->utf8 && !params->smtputf8) return tl::unexpected(address_reply(mail::AddressError::Utf8NotAllowed, true));
      cmd.path = std::move(*path);
      cmd.params = *params;
      return cmd;
    }
    case Verb::Rcpt: {
      auto a = strip_prefix(arg, "TO:", "RCPT TO:<address>");
      if (!a) return tl::unexpected(a.error());
      std::string_view rest;
      if (text::istarts_with(*a, "<postmaster>")) {  // RFC 5321 §4.1.1.3
        cmd.postmaster = true;
        cmd.path.local = "postmaster";
        rest = a->substr(12);
      } else {
        auto path = mail::parse_path(*a, false, opts.utf8_allowed, opts.address, rest);
        if (!path) return tl::unexpected(address_reply(path.error(), false));
        if (path->utf8 && !smtputf8_tx) return tl::unexpected(address_reply(mail::AddressError::Utf8NotAllowed, false));
        cmd.path = std::move(*path);
      }
      if (!rest.empty() && rest.front() != ' ') return err(501, "5.5.4", "Syntax error after address");
      auto params = parse_rcpt_params(rest);
      if (!params) return tl::unexpected(params.error());
      cmd.rcpt = std::move(*params);
      return cmd;
    }
    case Verb::Bdat: {
      // RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ]
      auto sp2 = arg.find(' ');
      auto n = text::parse_u64(arg.substr(0, sp2));
      if (!n) return err(501, "5.5.4", "Syntax: BDAT size [LAST]");
      cmd.chunk_size = *n;
      if (sp2 != std::string_view::npos) {
        if (!text::iequals(arg.substr(sp2 + 1), "LAST")) return err(501, "5.5.4", "Syntax: BDAT size [LAST]");
        cmd.last = true;
      }
      return cmd;
    }
    case Verb::Data:
    case Verb::Rset:
    case Verb::Quit:
    case Verb::Starttls:
      if (!text::trim(arg).empty()) return err(501, "5.5.4", "No parameters allowed");
      return cmd;
    case Verb::Vrfy:
    case Verb::Expn:
      if (text::trim(arg).empty()) return err(501, "5.5.4", "Argument required");
      cmd.arg.assign(arg);
      return cmd;
    case Verb::Noop:
    case Verb::Help:
    case Verb::Auth:
      cmd.arg.assign(arg);
      return cmd;
  }
  return err(500, "5.5.1", "Command unrecognized");
}

}  // namespace valija::smtp::proto
