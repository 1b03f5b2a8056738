// SPF record syntax (RFC 7208 §4.5, §4.6.1, §5, §6, §12): the whole record is checked
// before anything is evaluated, since a syntax error anywhere is a permerror (§4.6).
#include <arpa/inet.h>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/spf.hpp"
#include "policy/spf_detail.hpp"

namespace valija::policy::spf {
namespace {

constexpr std::string_view kVersion = "v=spf1";

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

tl::unexpected<Error> syntax(std::string_view term, std::string_view why) {
  return fail(Errc::Invalid, fmt::format("'{}': {}", detail::shown(term, 64), why));
}

// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) (§12)
bool is_modifier_name(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  for (char c : s)
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// ip4-cidr-length = "/" ( "0" / %x31-39 0*1DIGIT ), at most 32; ip6 likewise up to 128.
std::optional<int> cidr_length(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], taken off the end of
// `rest`: "/24", "//64", "/24//64". A '/' followed by something other than digits belongs
// to the domain-spec (macro-literal allows '/').
bool take_dual_cidr(std::string_view& rest, Directive& d) {
  auto v6 = rest.rfind("//");
  if (v6 != std::string_view::npos && all_digits(rest.substr(v6 + 2))) {
    auto len = cidr_length(rest.substr(v6 + 2), 128);
    if (!len) return false;
    d.cidr6 = *len;
    rest = rest.substr(0, v6);
  }
  auto v4 = rest.rfind('/');
  if (v4 != std::string_view::npos && all_digits(rest.substr(v4 + 1))) {
    auto len = cidr_length(rest.substr(v4 + 1), 32);
    if (!len) return false;
    d.cidr4 = *len;
    rest = rest.substr(0, v4);
  }
  return true;
}

// The network of ip4:/ip6: with its optional single cidr-length.
bool parse_network(std::string_view arg, bool v4, Directive& d) {
  auto slash = arg.find('/');
  std::string addr(arg.substr(0, slash));
  if (slash != std::string_view::npos) {
    auto len = cidr_length(arg.substr(slash + 1), v4 ? 32 : 128);
    if (!len) return false;
    (v4 ? d.cidr4 : d.cidr6) = *len;
  }
  // glibc's inet_pton takes only dotted quads without leading zeros: the qnum of §12.
  return ::inet_pton(v4 ? AF_INET : AF_INET6, addr.c_str(), d.network.data()) == 1;
}

struct Spelling {
  std::string_view name;
  Mechanism mechanism;
};
constexpr Spelling kMechanisms[] = {
    {"all", Mechanism::All}, {"include", Mechanism::Include}, {"a", Mechanism::A},
    {"mx", Mechanism::Mx},   {"ptr", Mechanism::Ptr},         {"ip4", Mechanism::Ip4},
    {"ip6", Mechanism::Ip6}, {"exists", Mechanism::Exists},
};

// The arguments after the mechanism name: ":" domain-spec, "/" cidr, or nothing (§5).
valija::Result<Directive> parse_arguments(Directive d, std::string_view term, std::string_view rest) {
  bool colon = !rest.empty() && rest[0] == ':';
  switch (d.mechanism) {
    case Mechanism::All:
      if (!rest.empty()) return syntax(term, "\"all\" takes no argument");
      return d;
    case Mechanism::Ip4:
    case Mechanism::Ip6:
      if (!colon || !parse_network(rest.substr(1), d.mechanism == Mechanism::Ip4, d))
        return syntax(term, "not a network (RFC 7208 section 5.6)");
      return d;
    case Mechanism::Include:
    case Mechanism::Exists:
      if (!colon) return syntax(term, "a domain-spec is required (RFC 7208 sections 5.2, 5.7)");
      break;
    case Mechanism::A:
    case Mechanism::Mx:
      if (!take_dual_cidr(rest, d)) return syntax(term, "bad CIDR length (RFC 7208 section 5.6)");
      if (rest.empty()) return d;
      if (!colon) return syntax(term, "unknown mechanism");
      break;
    case Mechanism::Ptr:
      if (rest.empty()) return d;
      if (!colon) return syntax(term, "unknown mechanism");
      break;
  }
  d.domain_spec = std::string(rest.substr(1));
  if (!valid_domain_spec(d.domain_spec)) return syntax(term, "not a domain-spec (RFC 7208 section 7.1)");
  return d;
}

valija::Result<Directive> parse_directive(std::string_view term) {
  Directive d;
  d.term = std::string(term);
  std::string_view t = term;
  switch (t[0]) {
    case '+': d.qualifier = Qualifier::Pass; t.remove_prefix(1); break;
    case '-': d.qualifier = Qualifier::Fail; t.remove_prefix(1); break;
    case '~': d.qualifier = Qualifier::SoftFail; t.remove_prefix(1); break;
    case '?': d.qualifier = Qualifier::Neutral; t.remove_prefix(1); break;
    default: break;
  }
  auto end = t.find_first_of(":/");
  auto name = t.substr(0, end);
  for (const auto& m : kMechanisms) {
    if (text::iequals(name, m.name)) {
      d.mechanism = m.mechanism;
      return parse_arguments(std::move(d), term, end == std::string_view::npos ? "" : t.substr(end));
    }
  }
  return syntax(term, "unknown mechanism (RFC 7208 section 5)");
}

// redirect, exp and unknown modifiers (§6; unknown ones are ignored, §6 last paragraph).
valija::Result<bool> parse_modifier(std::string_view term, std::string_view name, std::string_view value, Record& rec) {
  bool redirect = text::iequals(name, "redirect");
  if (redirect || text::iequals(name, "exp")) {
    auto& slot = redirect ? rec.redirect : rec.exp;
    if (slot) return syntax(term, "appears twice (RFC 7208 section 6)");
    if (!valid_domain_spec(value)) return syntax(term, "not a domain-spec (RFC 7208 section 6)");
    slot = std::string(value);
    return true;
  }
  if (!valid_macro_string(value, true)) return syntax(term, "not a macro-string (RFC 7208 section 6)");
  return true;
}

}  // namespace

bool is_spf_record(std::string_view txt) {
  return text::istarts_with(txt, kVersion) && (txt.size() == kVersion.size() || txt[kVersion.size()] == ' ');
}

valija::Result<Record> parse_record(std::string_view txt) {
  if (txt.size() > kMaxRecordLength) return fail(Errc::Limit, fmt::format("record longer than {} octets", kMaxRecordLength));
  if (!is_spf_record(txt)) return fail(Errc::Invalid, "not an SPF record (no \"v=spf1\")");
  for (char c : txt) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) return fail(Errc::Invalid, "octet outside printable ASCII in the record (RFC 7208 section 12)");
  }
  Record rec;
  std::size_t terms = 0;
  std::string_view rest = txt.substr(kVersion.size());
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto term = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (term.empty()) continue;  // terms = *( 1*SP ( directive / modifier ) )
    if (++terms > kMaxTerms) return fail(Errc::Limit, fmt::format("more than {} terms", kMaxTerms));
    auto eq = term.find('=');
    if (eq != std::string_view::npos && is_modifier_name(term.substr(0, eq))) {
      auto m = parse_modifier(term, term.substr(0, eq), term.substr(eq + 1), rec);
      if (!m) return tl::unexpected(m.error());
      continue;
    }
    auto d = parse_directive(term);
    if (!d) return tl::unexpected(d.error());
    rec.directives.push_back(std::move(*d));
  }
  return rec;
}

}  // namespace valija::policy::spf
