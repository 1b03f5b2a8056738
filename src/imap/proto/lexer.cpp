#include "imap/proto/lexer.hpp"

#include <array>

#include "base/text.hpp"

namespace valija::imap::proto {
namespace {

// RFC 9051 §2.3.2 system flags a client may set (\Recent is server-managed, §2.3.2 of
// RFC 3501; RFC 9051 removed it).
constexpr std::array<std::string_view, 5> kSystemFlags = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  // atom-specials: "(" ")" "{" SP CTL list-wildcards quoted-specials resp-specials
  if (u <= 0x20 || u >= 0x7F) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']': return false;
    default: return true;
  }
}

bool is_astring_char(char c) { return is_atom_char(c) || c == ']'; }
bool is_list_char(char c) { return is_atom_char(c) || c == '%' || c == '*' || c == ']'; }
bool is_tag_char(char c) { return is_astring_char(c) && c != '+'; }

bool Lexer::fail(std::string text, Code code) {
  if (!failed_) {
    failed_ = true;
    error_ = std::move(text);
    code_ = code;
  }
  return false;
}

bool Lexer::sp() {
  if (peek() == ' ') {
    ++pos_;
    return true;
  }
  return fail(at_end() ? "Missing arguments" : "Expected a space");
}

bool Lexer::eat(char c) {
  if (at_end() || text_[pos_] != c) return false;
  ++pos_;
  return true;
}

bool Lexer::expect(char c) {
  if (eat(c)) return true;
  return fail(std::string("Expected '") + c + "'");
}

bool Lexer::end() {
  if (at_end()) return true;
  return fail("Unexpected characters after the arguments");
}

std::string_view Lexer::peek_atom() const {
  std::size_t e = pos_;
  while (e < text_.size() && is_atom_char(text_[e])) ++e;
  return text_.substr(pos_, e - pos_);
}

bool Lexer::keyword(std::string_view kw) {
  if (text_.size() - pos_ < kw.size() || !text::iequals(text_.substr(pos_, kw.size()), kw)) return false;
  if (pos_ + kw.size() < text_.size() && is_atom_char(text_[pos_ + kw.size()])) return false;
  pos_ += kw.size();
  return true;
}

bool Lexer::atom(std::string& out, std::string_view what) {
  auto a = peek_atom();
  if (a.empty()) return fail("Missing or invalid " + std::string(what));
  out.assign(a);
  pos_ += a.size();
  return true;
}

bool Lexer::quoted(std::string& out) {
  ++pos_;  // DQUOTE
  out.clear();
  while (pos_ < text_.size()) {
    char c = text_[pos_++];
    if (c == '"') return true;
    if (c == '\\') {
      // RFC 9051 §9: only quoted-specials may be escaped.
      if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\\')) {
        out += text_[pos_++];
        continue;
      }
      return fail("Invalid escape in quoted string");
    }
    // 8-bit octets are kept (UTF-8, or a SEARCH CHARSET); the command decides.
    if (c == '\0' || c == '\r' || c == '\n') return fail("Invalid character in quoted string");
    out += c;
  }
  return fail("Unterminated quoted string");
}

bool Lexer::literal(std::string& out, bool allow_binary, bool* binary) {
  bool bin = eat('~');
  if (bin && !allow_binary) return fail("Binary literal not allowed here");  // RFC 3516 §4.2
  if (!expect('{')) return false;
  std::uint64_t n = 0;
  if (!digits(0xFFFFFFFFull, n, "literal size")) return false;
  eat('+');  // RFC 7888 §3: non-synchronising; the reader already handled the framing
  if (!expect('}')) return false;
  if (text_.substr(pos_, 2) != "\r\n") return fail("Literal size not followed by CRLF");
  pos_ += 2;
  if (text_.size() - pos_ < n) return fail("Truncated literal");
  auto content = text_.substr(pos_, n);
  // RFC 9051 §4.3: literal octets are CHAR8, NUL excluded; literal8 allows it.
  if (!bin && content.find('\0') != std::string_view::npos) return fail("NUL octet in literal");
  out.assign(content);
  pos_ += n;
  if (binary) *binary = bin;
  return true;
}

bool Lexer::string(std::string& out, std::string_view what) {
  if (peek() == '"') return quoted(out);
  if (peek() == '{') return literal(out, false, nullptr);
  return fail("Missing or invalid " + std::string(what));
}

bool Lexer::astring(std::string& out, std::string_view what) {
  if (peek() == '"' || peek() == '{') return string(out, what);
  std::size_t e = pos_;
  while (e < text_.size() && is_astring_char(text_[e])) ++e;
  if (e == pos_) return fail("Missing or invalid " + std::string(what));
  out.assign(text_.substr(pos_, e - pos_));
  pos_ = e;
  return true;
}

bool Lexer::nstring(std::optional<std::string>& out, std::string_view what) {
  if (keyword("NIL")) {
    out.reset();
    return true;
  }
  std::string s;
  if (!string(s, what)) return false;
  out = std::move(s);
  return true;
}

bool Lexer::list_mailbox(std::string& out) {
  if (peek() == '"' || peek() == '{') return string(out, "mailbox pattern");
  std::size_t e = pos_;
  while (e < text_.size() && is_list_char(text_[e])) ++e;
  if (e == pos_) return fail("Missing or invalid mailbox pattern");
  out.assign(text_.substr(pos_, e - pos_));
  pos_ = e;
  return true;
}

bool Lexer::message_literal(std::string& out, bool& binary) {
  if (peek() != '{' && peek() != '~') return fail("Missing message literal");
  return literal(out, true, &binary);
}

bool Lexer::digits(std::uint64_t max, std::uint64_t& out, std::string_view what) {
  std::size_t e = pos_;
  std::uint64_t v = 0;
  bool over = false;
  while (e < text_.size() && text_[e] >= '0' && text_[e] <= '9') {
    auto d = static_cast<std::uint64_t>(text_[e] - '0');
    if (v > (max - d) / 10) over = true;
    else v = v * 10 + d;
    ++e;
  }
  if (e == pos_) return fail("Missing or invalid " + std::string(what));
  if (over) return fail("Number out of range: " + std::string(what));
  pos_ = e;
  out = v;
  return true;
}

bool Lexer::number(std::uint32_t& out, std::string_view what) {
  std::uint64_t v = 0;
  if (!digits(0xFFFFFFFFull, v, what)) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool Lexer::nz_number(std::uint32_t& out, std::string_view what) {
  if (peek() == '0') return fail("Invalid " + std::string(what) + " (must not be 0)");
  return number(out, what);
}

bool Lexer::number64(std::uint64_t& out, std::string_view what) {
  return digits(0x7FFFFFFFFFFFFFFFull, out, what);  // RFC 9051 §9 number64: 63 bits
}

bool Lexer::mod_sequence(std::uint64_t& out, bool allow_zero) {
  if (!number64(out, "mod-sequence")) return false;
  if (out == 0 && !allow_zero) return fail("Invalid mod-sequence (must not be 0)");  // RFC 7162 §7
  return true;
}

bool Lexer::sequence_set(SequenceSet& out) {
  std::size_t e = pos_;
  while (e < text_.size() && ((text_[e] >= '0' && text_[e] <= '9') || text_[e] == '*' || text_[e] == ':' ||
                              text_[e] == ',' || text_[e] == '$'))
    ++e;
  auto set = SequenceSet::parse(text_.substr(pos_, e - pos_), limits_.sequence_ranges);
  if (!set) return fail(set.error().text, set.error().code == SequenceSet::Errc::TooMany ? Code::Limit : Code::None);
  out = std::move(*set);
  pos_ = e;
  return true;
}

bool Lexer::flag(std::string& out) {
  if (!eat('\\')) return atom(out, "flag");  // flag-keyword
  std::string name;
  if (!atom(name, "flag")) return false;
  for (auto f : kSystemFlags)
    if (text::iequals(f.substr(1), name)) {
      out.assign(f);  // canonical spelling, so the store compares plainly
      return true;
    }
  // \Recent and unknown flag-extensions cannot be set by a client (RFC 9051 §2.3.2).
  return fail("Invalid system flag");
}

bool Lexer::flag_list(std::vector<std::string>& out) {
  if (!expect('(')) return false;
  out.clear();
  if (eat(')')) return true;
  while (true) {
    if (out.size() == limits_.flags) return fail("Too many flags (limit " + std::to_string(limits_.flags) + ")", Code::Limit);
    std::string f;
    if (!flag(f)) return false;
    out.push_back(std::move(f));
    if (eat(')')) return true;
    if (!sp()) return false;
  }
}

bool Lexer::date(Date& out) {
  bool q = eat('"');
  std::size_t e = pos_;
  while (e < text_.size() && (text_[e] == '-' || is_alnum(text_[e]))) ++e;
  if (!parse_date(text_.substr(pos_, e - pos_), out)) return fail("Invalid date (expected d-Mon-yyyy)");
  pos_ = e;
  return !q || expect('"');
}

bool Lexer::date_time(DateTime& out) {
  if (!expect('"')) return false;
  auto close = text_.find('"', pos_);
  if (close == std::string_view::npos || !parse_date_time(text_.substr(pos_, close - pos_), out))
    return fail("Invalid date-time (expected \"dd-Mon-yyyy hh:mm:ss +zzzz\")");
  pos_ = close + 1;
  return true;
}

}  // namespace valija::imap::proto
