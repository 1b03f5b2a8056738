// SPF macros (RFC 7208 §7) and the names and addresses they are made of.
#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/spf.hpp"
#include "policy/spf_detail.hpp"

namespace valija::policy::spf {
namespace {

constexpr std::size_t kMaxName = 253;  // RFC 7208 §4.3, §7.3 (255 octets on the wire)
constexpr std::size_t kMaxLabel = 63;  // RFC 1035 §2.3.4
// "%{d999}" keeps every part; anything past the number of labels a name can have is "all".
constexpr std::size_t kMaxKeep = 128;

bool is_delimiter(char c) {  // RFC 7208 §7.1
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 7208 §7.1: c, r and t only in explanations (§6.2 explain-string).
bool is_macro_letter(char c, bool explanation) {
  switch (text::lower(c)) {
    case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v': return true;
    case 'c': case 'r': case 't': return explanation;
    default: return false;
  }
}

struct Macro {
  char letter = 0;         // lower case
  bool escape = false;     // upper-case letter: URL-escape the result (§7.3)
  std::size_t keep = 0;    // 0: all parts
  bool reverse = false;
  std::string_view delimiters;  // "" = "."
};

// A macro-string in pieces: literal text (with %%, %_ and %- already as their text) and macros.
struct Piece {
  std::string_view literal;
  std::optional<Macro> macro;
  bool expand = false;  // a macro-expand (§7.1), also %%, %_, %-
};

// Parses the "{...}" after a '%' at s[i]; returns the index past '}' or npos.
std::size_t parse_macro(std::string_view s, std::size_t i, bool explanation, Macro& m) {
  if (i >= s.size() || !is_macro_letter(s[i], explanation)) return std::string_view::npos;
  m.letter = text::lower(s[i]);
  m.escape = s[i] >= 'A' && s[i] <= 'Z';
  ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) {
    m.keep = std::min(kMaxKeep, m.keep * 10 + static_cast<std::size_t>(s[i] - '0'));
    ++i, ++digits;
  }
  if (digits > 0 && m.keep == 0) return std::string_view::npos;  // §7.3: the DIGIT must be nonzero
  if (i < s.size() && (s[i] == 'r' || s[i] == 'R')) m.reverse = true, ++i;
  std::size_t from = i;
  while (i < s.size() && is_delimiter(s[i])) ++i;
  m.delimiters = s.substr(from, i - from);
  if (i >= s.size() || s[i] != '}') return std::string_view::npos;
  return i + 1;
}

// RFC 7208 §7.1 macro-string (and explain-string, which adds SP); false on a syntax error.
bool split(std::string_view s, bool explanation, std::vector<Piece>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c != '%') {
      std::size_t from = i;
      while (i < s.size() && s[i] != '%') {
        auto u = static_cast<unsigned char>(s[i]);
        bool ok = (u >= 0x21 && u <= 0x7E) || (explanation && u == ' ');  // macro-literal
        if (!ok) return false;
        ++i;
      }
      out.push_back(Piece{s.substr(from, i - from), std::nullopt, false});
      continue;
    }
    if (i + 1 >= s.size()) return false;
    char n = s[i + 1];
    if (n == '%') out.push_back(Piece{"%", std::nullopt, true});
    else if (n == '_') out.push_back(Piece{" ", std::nullopt, true});
    else if (n == '-') out.push_back(Piece{"%20", std::nullopt, true});
    if (n == '%' || n == '_' || n == '-') {
      i += 2;
      continue;
    }
    if (n != '{') return false;
    Macro m;
    std::size_t end = parse_macro(s, i + 2, explanation, m);
    if (end == std::string_view::npos) return false;
    out.push_back(Piece{{}, m, true});
    i = end;
  }
  return true;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view l) {
  if (l.empty()) return false;
  bool alpha = false, hyphen = false;
  for (char c : l) {
    if (is_alpha(c)) alpha = true;
    else if (c == '-') hyphen = true;
    else if (!is_digit(c)) return false;
  }
  if (l.front() == '-' || l.back() == '-') return false;
  return alpha || hyphen;
}

std::string url_escape(std::string_view s) {  // RFC 3986 §2.3: all but unreserved
  std::string out;
  for (char c : s) {
    if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string macro_value(char letter, const MacroContext& ctx, const std::optional<detail::Address>& ip) {
  switch (letter) {
    case 's': return ctx.sender;
    case 'l': return ctx.local;
    case 'o': return ctx.sender_domain;
    case 'd': return ctx.domain;
    case 'i': return ip ? detail::dotted(*ip) : "";
    case 'p': return ctx.validated.empty() ? "unknown" : ctx.validated;
    case 'h': return ctx.helo;
    case 'c': return ip ? detail::readable(*ip) : "";
    case 'r': return ctx.receiver.empty() ? "unknown" : ctx.receiver;
    case 't': return std::to_string(ctx.now);
    case 'v': return ip && !ip->v4 ? "ip6" : "in-addr";
    default: return "";
  }
}

// §7.3: split on the delimiters, reverse, keep the rightmost parts, join with dots.
std::string transform(std::string_view value, const Macro& m) {
  std::string_view delimiters = m.delimiters.empty() ? std::string_view(".") : m.delimiters;
  std::vector<std::string_view> parts;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(from, i - from));
      from = i + 1;
    }
  }
  if (m.reverse) std::reverse(parts.begin(), parts.end());
  std::size_t first = (m.keep > 0 && m.keep < parts.size()) ? parts.size() - m.keep : 0;
  std::string out;
  for (std::size_t i = first; i < parts.size(); ++i) {
    if (i > first) out += '.';
    out += parts[i];
  }
  return m.escape ? url_escape(out) : out;
}

bool label_octet_ok(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '\\';
}

}  // namespace

bool valid_macro_string(std::string_view s, bool explanation) {
  std::vector<Piece> pieces;
  return split(s, explanation, pieces);
}

bool valid_domain_spec(std::string_view s) {
  std::vector<Piece> pieces;
  if (s.empty() || !split(s, false, pieces)) return false;
  if (pieces.back().expand) return true;  // domain-end = macro-expand
  // domain-end = "." toplabel [ "." ], all of it literal text
  std::string_view tail = pieces.back().literal;
  if (!tail.empty() && tail.back() == '.') tail.remove_suffix(1);
  auto dot = tail.rfind('.');
  return dot != std::string_view::npos && is_toplabel(tail.substr(dot + 1));
}

valija::Result<std::string> expand(std::string_view macro_string, const MacroContext& ctx, bool explanation) {
  std::vector<Piece> pieces;
  if (!split(macro_string, explanation, pieces)) return fail(Errc::Invalid, "invalid macro syntax (RFC 7208 section 7.1)");
  auto ip = detail::parse_address(ctx.ip);
  std::string out;
  for (const auto& p : pieces) {
    out += p.macro ? transform(macro_value(p.macro->letter, ctx, ip), *p.macro) : std::string(p.literal);
    if (out.size() > kMaxExpansion) return fail(Errc::Limit, "macro expansion too long");
  }
  return out;
}

namespace detail {

std::optional<Address> parse_address(std::string_view text) {
  if (text.size() > 64) return std::nullopt;
  std::string s(text);
  Address a;
  if (::inet_pton(AF_INET, s.c_str(), a.octets.data()) == 1) {
    a.v4 = true;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.octets.data()) != 1) return std::nullopt;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(a.octets.begin(), a.octets.begin() + 12, kMapped)) {
    std::copy(a.octets.begin() + 12, a.octets.end(), a.octets.begin());
    std::fill(a.octets.begin() + 4, a.octets.end(), 0);
    a.v4 = true;
  }
  return a;
}

bool in_network(const Address& a, const std::array<unsigned char, 16>& network, int bits) {
  int max = a.v4 ? 32 : 128;
  bits = std::clamp(bits, 0, max);
  int whole = bits / 8, rest = bits % 8;
  if (!std::equal(a.octets.begin(), a.octets.begin() + whole, network.begin())) return false;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a.octets[whole] & mask) == (network[whole] & mask);
}

std::string readable(const Address& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(a.v4 ? AF_INET : AF_INET6, a.octets.data(), buf, sizeof buf);
  return buf;
}

std::string dotted(const Address& a) {
  if (a.v4) return readable(a);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char o : a.octets) {
    if (!out.empty()) out += '.';
    out += kHex[o >> 4];
    out += '.';
    out += kHex[o & 15];
  }
  return out;
}

bool valid_domain(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxName) return false;
  std::size_t labels = 0;
  std::string_view last;
  while (!name.empty()) {
    auto dot = name.find('.');
    last = name.substr(0, dot);
    if (last.empty() || last.size() > kMaxLabel) return false;
    for (char c : last)
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
    ++labels;
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    if (dot != std::string_view::npos && name.empty()) return false;
  }
  bool numeric = std::all_of(last.begin(), last.end(), is_digit);
  return labels >= 2 && !numeric;
}

std::optional<std::string> target_name(std::string_view expanded) {
  std::string_view name = expanded;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  // §7.3: remove labels, and the dots after them, from the left until it fits.
  while (name.size() > kMaxName) {
    auto dot = name.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    name.remove_prefix(dot + 1);
  }
  if (name.empty()) return std::nullopt;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > kMaxLabel) return std::nullopt;
      label = 0;
    } else if (!label_octet_ok(name[i])) {
      return std::nullopt;
    } else {
      ++label;
    }
  }
  return text::to_lower(name);
}

bool within(std::string_view name, std::string_view domain) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (text::iequals(name, domain)) return true;
  return name.size() > domain.size() && name[name.size() - domain.size() - 1] == '.' &&
         text::iequals(name.substr(name.size() - domain.size()), domain);
}

bool uses_validated_name(std::string_view macro_string) {
  std::vector<Piece> pieces;
  if (!split(macro_string, true, pieces)) return false;
  return std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.macro && p.macro->letter == 'p'; });
}

std::string shown(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s.substr(0, std::min(s.size(), max))) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u <= 0x7E) ? c : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace detail
}  // namespace valija::policy::spf
