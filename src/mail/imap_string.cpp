#include "mail/imap_string.hpp"

namespace valija::mail {

void append_imap_string(std::string& out, std::string_view s) {
  bool literal = s.size() > kImapMaxQuoted;
  bool has_nul = false;
  for (unsigned char c : s) {
    if (c == 0) has_nul = true;
    if (c == '\r' || c == '\n' || c >= 0x80 || c == 0) literal = true;  // RFC 3501 §9 TEXT-CHAR
  }
  if (!literal) {
    out += '"';
    // Runs without quoted-specials go in one append each (RFC 3501 §9).
    std::size_t from = 0;
    for (std::size_t i = s.find_first_of("\"\\"); i != std::string_view::npos; i = s.find_first_of("\"\\", i + 1)) {
      out.append(s, from, i - from);
      out += '\\';
      out += s[i];
      from = i + 1;
    }
    out.append(s, from);
    out += '"';
    return;
  }
  if (!has_nul) {
    out += '{';
    out += std::to_string(s.size());
    out += "}\r\n";
    out.append(s);
    return;
  }
  std::string clean;
  clean.reserve(s.size() + 8);
  for (char c : s) {
    if (c == 0) clean += "\xEF\xBF\xBD";
    else clean += c;
  }
  out += '{';
  out += std::to_string(clean.size());
  out += "}\r\n";
  out += clean;
}

void append_imap_nstring(std::string& out, const std::optional<std::string>& s) {
  if (!s) {
    out += "NIL";
    return;
  }
  append_imap_string(out, *s);
}

std::string imap_string(std::string_view s) {
  std::string out;
  append_imap_string(out, s);
  return out;
}

std::string imap_nstring(const std::optional<std::string>& s) {
  std::string out;
  append_imap_nstring(out, s);
  return out;
}

}  // namespace valija::mail
