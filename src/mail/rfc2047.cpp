#include "mail/rfc2047.hpp"

#include <optional>

#include "base/text.hpp"
#include "mail/header.hpp"
#include "mail/transfer.hpp"

namespace valija::mail {
namespace {

struct Word {
  std::string_view charset;  // without the RFC 2231 §5 "*lang" suffix
  std::string bytes;         // decoded octets
  std::size_t end = 0;       // index just past "?="
};

bool is_lwsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 2047 §4.2: "_" is space, "=XX" an octet.
std::string decode_q(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_') {
      out += ' ';
    } else if (t[i] == '=' && i + 2 < t.size() && hex_value(t[i + 1]) >= 0 && hex_value(t[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(t[i + 1]) * 16 + hex_value(t[i + 2]));
      i += 2;
    } else {
      out += t[i];
    }
  }
  return out;
}

// Parses an encoded word starting at s[p] == '='; nullopt when it is not one.
std::optional<Word> parse_word(std::string_view s, std::size_t p) {
  if (s.substr(p, 2) != "=?") return std::nullopt;
  std::size_t i = p + 2;
  std::size_t cs_begin = i;
  while (i < s.size() && s[i] != '?' && !is_lwsp(s[i]) && i - cs_begin <= 64) ++i;  // charset token
  if (i >= s.size() || s[i] != '?' || i == cs_begin) return std::nullopt;
  auto charset = s.substr(cs_begin, i - cs_begin);
  if (auto star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);
  if (charset.empty()) return std::nullopt;
  ++i;
  if (i + 1 >= s.size() || s[i + 1] != '?') return std::nullopt;
  char enc = s[i];
  if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') return std::nullopt;
  i += 2;
  std::size_t text_begin = i;
  while (i < s.size() && s[i] != '?' && !is_lwsp(s[i])) ++i;  // RFC 2047 §5: no SPACE, no "?"
  if (i + 1 >= s.size() || s[i] != '?' || s[i + 1] != '=') return std::nullopt;
  auto text = s.substr(text_begin, i - text_begin);
  Word w;
  w.charset = charset;
  w.bytes = (enc == 'B' || enc == 'b') ? decode_base64(text) : decode_q(text);
  w.end = i + 2;
  return w;
}

bool only_lwsp(std::string_view s) {
  for (char c : s)
    if (!is_lwsp(c)) return false;
  return true;
}

}  // namespace

std::string decode_rfc2047(std::string_view s, std::size_t max_out) {
  std::string out;
  std::string pending;           // octets of adjacent encoded words in one charset
  std::string_view pending_cs;
  auto flush = [&] {
    if (!pending_cs.empty()) out += to_utf8(pending, pending_cs, max_out);
    pending.clear();
    pending_cs = {};
  };
  std::size_t plain_begin = 0;  // start of text not yet emitted
  std::size_t i = 0;
  while (i < s.size() && out.size() < max_out) {
    auto eq = s.find("=?", i);
    if (eq == std::string_view::npos) break;
    auto w = parse_word(s, eq);
    if (!w) {
      i = eq + 1;
      continue;
    }
    auto between = s.substr(plain_begin, eq - plain_begin);
    bool adjacent = !pending_cs.empty() && only_lwsp(between);  // RFC 2047 §6.2
    if (!adjacent) {
      flush();
      out += to_utf8(between, "", max_out);
    } else if (!text::iequals(pending_cs, w->charset)) {
      flush();
    }
    if (pending_cs.empty()) pending_cs = w->charset;
    pending += w->bytes;
    plain_begin = i = w->end;
  }
  flush();
  if (plain_begin < s.size() && out.size() < max_out) out += to_utf8(s.substr(plain_begin), "", max_out);
  return out.size() > max_out ? sanitize_utf8(out, max_out) : out;
}

std::string decode_header_value(std::string_view raw, std::size_t max_out) {
  return decode_rfc2047(unfold_trim_leading(raw), max_out);
}

}  // namespace valija::mail
