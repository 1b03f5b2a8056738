#include "policy/authres.hpp"

#include <fmt/format.h>

#include "base/text.hpp"
#include "mail/header.hpp"

namespace valija::policy {
namespace {

// RFC 2045 token characters (RFC 8601 §2.2 "value = token / quoted-string").
bool token_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

bool dot_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

bool is_token(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v)
    if (!token_char(c)) return false;
  return true;
}

// "[local-part "@"] domain-name" with a dot-atom local part (§2.3's pvalue form).
bool is_address(std::string_view v) {
  auto at = v.rfind('@');
  if (at == std::string_view::npos) return false;
  auto local = v.substr(0, at), domain = v.substr(at + 1);
  if (domain.empty()) return false;
  if (!local.empty() && (local.front() == '.' || local.back() == '.')) return false;
  for (char c : local)
    if (!dot_atom_char(c)) return false;
  for (char c : domain)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  return true;
}

std::string pvalue(std::string_view v) {
  if (is_token(v) || is_address(v)) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;  // never a line break from a client's input
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

std::string comment(std::string_view v) {
  std::string out;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Skips CFWS (RFC 5322 §3.2.2): white space and nested comments.
std::size_t skip_cfws(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
    } else if (c == '(') {
      depth = 1;
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      break;
    }
    ++i;
  }
  return i;
}

}  // namespace

std::string authentication_results(std::string_view authserv_id, const std::vector<MethodResult>& results) {
  std::string out = fmt::format("Authentication-Results: {};", authserv_id);
  if (results.empty()) return out + " none\r\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    out += fmt::format("\r\n\t{}={}", r.method, r.result);
    if (!r.comment.empty()) out += fmt::format(" ({})", comment(r.comment));
    for (const auto& [name, value] : r.properties) out += fmt::format(" {}={}", name, pvalue(value));
    if (i + 1 < results.size()) out += ';';
  }
  return out + "\r\n";
}

std::string authserv_id_of(std::string_view v) {
  std::size_t i = skip_cfws(v, 0);
  if (i >= v.size()) return "";
  std::string id;
  if (v[i] == '"') {
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      id += v[i];
    }
    return id;
  }
  while (i < v.size() && token_char(v[i])) id += v[i++];
  return id;
}

std::size_t strip_authentication_results(std::string& message, std::string_view authserv_id, std::size_t max_header) {
  std::string_view block(message.data(), std::min(message.size(), max_header));
  mail::HeaderReader reader(block);
  std::vector<std::pair<std::size_t, std::size_t>> cut;
  while (auto f = reader.next()) {
    if (!text::iequals(f->name, "Authentication-Results")) continue;
    std::string id = authserv_id_of(f->value);
    if (!id.empty() && id.back() == '.') id.pop_back();
    if (text::iequals(id, authserv_id)) cut.emplace_back(f->begin, f->end);
  }
  for (auto it = cut.rbegin(); it != cut.rend(); ++it) message.erase(it->first, it->second - it->first);
  return cut.size();
}

}  // namespace valija::policy
