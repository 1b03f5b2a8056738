#include "mail/mime_fields.hpp"

namespace valija::mail {
namespace {

// RFC 2045 §5.1 tspecials.
bool tspecial(char c) { return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos; }
bool ctl_or_space(unsigned char c) { return c <= 0x20 || c == 0x7F; }

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  void advance() { ++i_; }

  // Whitespace (folding included) and RFC 822 comments, nested, with quoted-pairs.
  void skip_cfws() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '(') {
        int depth = 0;
        while (i_ < s_.size()) {
          char d = s_[i_++];
          if (d == '\\') {
            if (i_ < s_.size()) ++i_;
          } else if (d == '(') {
            ++depth;
          } else if (d == ')' && --depth == 0) {
            break;
          }
        }
      } else {
        return;
      }
    }
  }

  // RFC 2045 §5.1 token (8-bit octets accepted, as RFC 6532 headers carry them).
  std::string_view token() {
    std::size_t b = i_;
    while (i_ < s_.size() && !ctl_or_space(static_cast<unsigned char>(s_[i_])) && !tspecial(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }

  // A parameter value without quotes, read leniently (see mime_fields.hpp).
  std::string_view loose_value() {
    std::size_t b = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ';' || c == '(' || c == '"' || ctl_or_space(static_cast<unsigned char>(c))) break;
      ++i_;
    }
    return s_.substr(b, i_ - b);
  }

  // RFC 822 quoted-string at '"': backslash pairs unescaped, folding CR/LF dropped.
  std::string quoted() {
    std::string out;
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') break;
      if (c == '\\' && i_ < s_.size()) c = s_[i_++];
      else if (c == '\r' || c == '\n') continue;
      out += c;
    }
    return out;
  }

  // Skips to the next ';' outside quoted strings (junk after a parameter).
  void skip_to_semicolon() {
    while (i_ < s_.size() && s_[i_] != ';') {
      if (s_[i_] == '"') quoted();
      else if (s_[i_] == '(') skip_cfws();
      else ++i_;
    }
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// *(";" parameter) (RFC 2045 §5.1), then RFC 2231 joining.
std::vector<MimeParam> parse_params(Lexer& lx, std::size_t max_params) {
  std::vector<MimeParam> raw;
  while (true) {
    lx.skip_cfws();
    if (lx.done()) break;
    if (lx.peek() == ';') {
      lx.advance();
      continue;
    }
    auto name = lx.token();
    lx.skip_cfws();
    if (name.empty() || lx.done() || lx.peek() != '=') {
      if (name.empty() && !lx.done() && lx.peek() != ';') lx.advance();
      lx.skip_to_semicolon();
      continue;
    }
    lx.advance();
    lx.skip_cfws();
    std::string value;
    if (!lx.done() && lx.peek() == '"') value = lx.quoted();
    else value = std::string(lx.loose_value());
    if (raw.size() < max_params) raw.push_back({std::string(name), std::move(value)});
    lx.skip_cfws();
    if (!lx.done() && lx.peek() != ';') lx.skip_to_semicolon();
  }
  return join_rfc2231(raw);
}

}  // namespace

std::optional<ContentType> parse_content_type(std::string_view value, std::size_t max_params) {
  Lexer lx(value);
  lx.skip_cfws();
  ContentType ct;
  ct.type = std::string(lx.token());
  lx.skip_cfws();
  if (ct.type.empty() || lx.done() || lx.peek() != '/') return std::nullopt;
  lx.advance();
  lx.skip_cfws();
  ct.subtype = std::string(lx.token());
  if (ct.subtype.empty()) return std::nullopt;
  lx.skip_cfws();
  if (!lx.done() && lx.peek() != ';') lx.skip_to_semicolon();
  ct.params = parse_params(lx, max_params);
  return ct;
}

std::optional<ContentDisposition> parse_content_disposition(std::string_view value,
                                                            std::size_t max_params) {
  Lexer lx(value);
  lx.skip_cfws();
  ContentDisposition d;
  d.type = std::string(lx.token());
  if (d.type.empty()) return std::nullopt;
  lx.skip_cfws();
  if (!lx.done() && lx.peek() != ';') lx.skip_to_semicolon();
  d.params = parse_params(lx, max_params);
  return d;
}

std::optional<std::string> parse_first_token(std::string_view value) {
  Lexer lx(value);
  lx.skip_cfws();
  auto t = lx.token();
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

std::vector<std::string> parse_language_list(std::string_view value, std::size_t max_tags) {
  std::vector<std::string> out;
  Lexer lx(value);
  while (true) {
    lx.skip_cfws();
    if (lx.done()) break;
    auto t = lx.token();
    if (t.empty()) {
      lx.advance();  // ',' or junk
      continue;
    }
    if (out.size() < max_tags) out.emplace_back(t);
  }
  return out;
}

}  // namespace valija::mail
