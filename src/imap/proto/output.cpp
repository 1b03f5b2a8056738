#include "imap/proto/output.hpp"

#include "base/text.hpp"
#include "imap/proto/datetime.hpp"
#include "imap/proto/lexer.hpp"
#include "imap/proto/mailbox_name.hpp"

namespace valija::imap::proto {

bool is_atom(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_atom_char(c)) return false;
  return true;
}

bool can_quote(std::string_view s, bool utf8) {
  if (s.size() > kQuotedMax) return false;
  bool eight = false;
  for (char c : s) {
    if (c == '\0' || c == '\r' || c == '\n') return false;
    if (static_cast<unsigned char>(c) >= 0x80) eight = true;
  }
  // RFC 9051 §9 QUOTED-CHAR admits UTF8-2..4; RFC 3501 only TEXT-CHAR.
  return !eight || (utf8 && text::valid_utf8(s));
}

void write_literal(std::string& out, std::string_view s, bool binary) {
  if (binary) out += '~';
  out += '{';
  out += std::to_string(s.size());
  out += "}\r\n";
  out += s;
}

void write_string(std::string& out, std::string_view s, bool utf8) {
  if (!can_quote(s, utf8)) {
    write_literal(out, s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';  // RFC 9051 §9 quoted-specials
    out += c;
  }
  out += '"';
}

void write_astring(std::string& out, std::string_view s, bool utf8) {
  bool atom = !s.empty() && !text::iequals(s, "NIL");
  for (char c : s)
    if (!is_astring_char(c)) atom = false;
  if (atom) out += s;
  else write_string(out, s, utf8);
}

void write_nstring(std::string& out, std::optional<std::string_view> s, bool utf8) {
  if (!s) out += "NIL";
  else write_string(out, *s, utf8);
}

void write_mailbox(std::string& out, std::string_view name, bool utf8) {
  write_astring(out, mailbox_to_wire(name, utf8), utf8);
}

void write_flag_list(std::string& out, std::span<const std::string> flags) {
  out += '(';
  bool first = true;
  for (const auto& f : flags) {
    if (!first) out += ' ';
    out += f;
    first = false;
  }
  out += ')';
}

void write_date_time(std::string& out, std::int64_t unix, int zone_minutes) {
  out += '"';
  out += format_date_time(unix, zone_minutes);
  out += '"';
}

}  // namespace valija::imap::proto
