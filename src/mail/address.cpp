#include "mail/address.hpp"

#include "base/text.hpp"

#include <cctype>
#include <cstdint>

namespace valija::mail {
namespace {

bool is_atext(unsigned char c, bool utf8) {
  if (c >= 0x80) return utf8;  // RFC 6531 §3.3: UTF8-non-ascii in atext
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

bool is_let_dig(unsigned char c, bool utf8) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (utf8 && c >= 0x80);
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  while (true) {
    std::size_t n = 0;
    unsigned v = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 3) v = v * 10 + (s[n++] - '0');
    if (n == 0 || v > 255) return false;
    s.remove_prefix(n);
    ++parts;
    if (parts == 4) return s.empty();
    if (s.empty() || s.front() != '.') return false;
    s.remove_prefix(1);
  }
}

bool is_ipv6(std::string_view s) {
  // Structural check: hex groups separated by ':', at most one '::', optional IPv4 tail.
  if (s.empty() || s.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i])) && i - start < 4) ++i;
    if (i < s.size() && s[i] == '.') {  // embedded IPv4
      if (!is_ipv4(s.substr(start))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    if (i == start) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;
    }
  }
  return compressed ? groups < 8 : groups == 8;
}

bool is_address_literal(std::string_view lit) {
  // RFC 5321 §4.1.3: "[" IPv4 / "IPv6:" IPv6 / General-address-literal "]"
  if (lit.size() < 3 || lit.front() != '[' || lit.back() != ']') return false;
  auto inner = lit.substr(1, lit.size() - 2);
  if (text::istarts_with(inner, "IPv6:")) return is_ipv6(inner.substr(5));
  if (is_ipv4(inner)) return true;
  // General-address-literal: Standardized-tag ":" 1*dcontent; no tags are registered
  // besides IPv6, so anything else is refused.
  return false;
}

}  // namespace

std::string_view address_error_text(AddressError e) {
  switch (e) {
    case AddressError::Syntax: return "Syntax error in mailbox address";
    case AddressError::LocalTooLong: return "Local part longer than 64 octets";
    case AddressError::DomainTooLong: return "Domain longer than 255 octets";
    case AddressError::PathTooLong: return "Path longer than 256 octets";
    case AddressError::Utf8NotAllowed: return "Non-ASCII address requires SMTPUTF8";
  }
  return "Syntax error";
}

bool is_dot_string(std::string_view s, bool utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(static_cast<unsigned char>(c), utf8)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool is_domain(std::string_view d, bool utf8) {
  // Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] (RFC 5321 §4.1.2)
  if (d.empty()) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = d.find('.', start);
    auto label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (!is_let_dig(static_cast<unsigned char>(label.front()), utf8) ||
        !is_let_dig(static_cast<unsigned char>(label.back()), utf8))
      return false;
    for (unsigned char c : label)
      if (!is_let_dig(c, utf8) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string Mailbox::str() const {
  if (empty()) return "";
  std::string out;
  if (is_dot_string(local, true)) {
    out = local;
  } else {
    out = "\"";
    for (char c : local) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '@';
  out += domain;
  return out;
}

tl::expected<Mailbox, AddressError> parse_mailbox(std::string_view in, bool allow_utf8,
                                                  const AddressLimits& limits) {
  Mailbox mb;
  std::size_t i = 0;
  if (!in.empty() && in.front() == '"') {
    // Quoted-string = DQUOTE *QcontentSMTP DQUOTE (RFC 5321 §4.1.2)
    ++i;
    bool closed = false;
    while (i < in.size()) {
      unsigned char c = static_cast<unsigned char>(in[i]);
      if (c == '"') { closed = true; ++i; break; }
      if (c == '\\') {
        if (i + 1 >= in.size()) return tl::unexpected(AddressError::Syntax);
        unsigned char n = static_cast<unsigned char>(in[i + 1]);
        if (n < 32 || n == 127 || (n >= 128 && !allow_utf8)) return tl::unexpected(AddressError::Syntax);
        mb.local += static_cast<char>(n);
        i += 2;
        continue;
      }
      if (c < 32 || c == 127) return tl::unexpected(AddressError::Syntax);
      if (c >= 128 && !allow_utf8) return tl::unexpected(AddressError::Utf8NotAllowed);
      mb.local += static_cast<char>(c);
      ++i;
    }
    if (!closed) return tl::unexpected(AddressError::Syntax);
  } else {
    auto at = in.rfind('@');
    if (at == std::string_view::npos) return tl::unexpected(AddressError::Syntax);
    auto local = in.substr(0, at);
    if (!is_dot_string(local, true)) return tl::unexpected(AddressError::Syntax);
    if (!allow_utf8 && has_non_ascii(local)) return tl::unexpected(AddressError::Utf8NotAllowed);
    mb.local.assign(local);
    i = at;
  }
  if (mb.local.size() > limits.local_part) return tl::unexpected(AddressError::LocalTooLong);
  if (i >= in.size() || in[i] != '@') return tl::unexpected(AddressError::Syntax);
  auto domain = in.substr(i + 1);
  if (domain.size() > limits.domain) return tl::unexpected(AddressError::DomainTooLong);
  if (!domain.empty() && domain.front() == '[') {
    if (!is_address_literal(domain)) return tl::unexpected(AddressError::Syntax);
    mb.domain_literal = true;
    mb.domain = text::to_lower(domain);
    // Keep the "IPv6:" tag's conventional case.
    if (text::istarts_with(mb.domain, "[ipv6:")) mb.domain.replace(1, 4, "IPv6");
  } else {
    if (!is_domain(domain, true)) return tl::unexpected(AddressError::Syntax);
    if (!allow_utf8 && has_non_ascii(domain)) return tl::unexpected(AddressError::Utf8NotAllowed);
    mb.domain = text::to_lower(domain);
  }
  mb.utf8 = has_non_ascii(mb.local) || has_non_ascii(mb.domain);
  if (mb.utf8 && (!text::valid_utf8(mb.local) || !text::valid_utf8(mb.domain)))
    return tl::unexpected(AddressError::Syntax);
  return mb;
}

tl::expected<Mailbox, AddressError> parse_path(std::string_view in, bool allow_null, bool allow_utf8,
                                               const AddressLimits& limits, std::string_view& rest) {
  if (in.empty() || in.front() != '<') return tl::unexpected(AddressError::Syntax);
  // Find the closing '>' outside a quoted string.
  std::size_t i = 1;
  bool quoted = false;
  for (; i < in.size(); ++i) {
    char c = in[i];
    if (quoted) {
      if (c == '\\') { ++i; continue; }
      if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      break;
    }
  }
  if (i >= in.size()) return tl::unexpected(AddressError::Syntax);
  auto path = in.substr(0, i + 1);
  rest = in.substr(i + 1);
  if (path.size() > limits.path) return tl::unexpected(AddressError::PathTooLong);
  auto inner = path.substr(1, path.size() - 2);
  if (inner.empty()) {
    if (allow_null) return Mailbox{};
    return tl::unexpected(AddressError::Syntax);
  }
  if (inner.front() == '@') {
    // A-d-l = At-domain *( "," At-domain ) ":" — accepted and ignored (RFC 5321 §3.3).
    auto colon = inner.find(':');
    if (colon == std::string_view::npos) return tl::unexpected(AddressError::Syntax);
    auto route = inner.substr(0, colon);
    std::size_t start = 0;
    while (start < route.size()) {
      auto comma = route.find(',', start);
      auto hop = route.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (hop.size() < 2 || hop.front() != '@' || !is_domain(hop.substr(1), allow_utf8))
        return tl::unexpected(AddressError::Syntax);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    inner = inner.substr(colon + 1);
  }
  return parse_mailbox(inner, allow_utf8, limits);
}

}  // namespace valija::mail
