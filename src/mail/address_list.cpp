#include "mail/address_list.hpp"

#include "mail/header.hpp"
#include "mail/imap_string.hpp"

namespace valija::mail {
namespace {

enum class Kind { Atom, Quoted, Literal, Comment, Special };

struct Token {
  Kind kind;
  std::string text;     // atom, unquoted string, literal with brackets, comment text, or the special
  bool space_before = false;
};

// RFC 5322 §3.2.3 specials, minus the ones the tokenizer consumes itself.
bool special(char c) { return std::string_view("<>@,;:.").find(c) != std::string_view::npos; }
bool lwsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  bool space = false;
  while (i < s.size()) {
    char c = s[i];
    if (lwsp(c)) {
      space = true;
      ++i;
      continue;
    }
    Token t{Kind::Atom, {}, space};
    space = false;
    if (c == '(') {  // RFC 5322 §3.2.2 comment, nested, quoted-pairs
      t.kind = Kind::Comment;
      int depth = 0;
      while (i < s.size()) {
        char d = s[i++];
        if (d == '\\' && i < s.size()) {
          t.text += s[i++];
          continue;
        }
        if (d == '(' && depth++ == 0) continue;
        if (d == ')' && --depth == 0) break;
        t.text += d;
      }
      space = true;  // a comment separates words like whitespace
    } else if (c == '"') {  // RFC 5322 §3.2.4 quoted-string
      t.kind = Kind::Quoted;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        if (s[i] != '\r' && s[i] != '\n') t.text += s[i];
        ++i;
      }
      ++i;
    } else if (c == '[') {  // RFC 5322 §3.4.1 domain-literal
      t.kind = Kind::Literal;
      while (i < s.size() && s[i] != ']') {
        if (!lwsp(s[i])) t.text += s[i];
        ++i;
      }
      t.text += ']';
      ++i;
    } else if (special(c)) {
      t.kind = Kind::Special;
      t.text = c;
      ++i;
    } else {  // atext, 8-bit (RFC 6532) and stray characters alike
      while (i < s.size() && !lwsp(s[i]) && !special(s[i]) && s[i] != '(' && s[i] != '"' && s[i] != '[')
        t.text += s[i++];
    }
    out.push_back(std::move(t));
  }
  return out;
}

class Parser {
 public:
  Parser(std::vector<Token> toks, std::size_t max) : t_(std::move(toks)), max_(max) {}

  std::vector<ImapAddress> list() {
    while (j_ < t_.size() && out_.size() < max_) {
      if (is(',')) {
        ++j_;
        continue;
      }
      element(false);
    }
    return std::move(out_);
  }

 private:
  bool is(char c) const { return j_ < t_.size() && t_[j_].kind == Kind::Special && t_[j_].text[0] == c; }
  bool is_word() const {
    return j_ < t_.size() && (t_[j_].kind == Kind::Atom || t_[j_].kind == Kind::Quoted || is('.'));
  }
  // Skips comments, remembering the last one for a name.
  void comments() {
    while (j_ < t_.size() && t_[j_].kind == Kind::Comment) last_comment_ = t_[j_++].text;
  }

  struct Phrase {
    std::string spaced;   // words with single spaces where the message had whitespace
    std::string joined;   // the same words run together (a local part written with spaces)
    bool single = true;   // one dot-atom: no whitespace, no quoted string
  };

  // Display name (RFC 5322 §3.2.5 phrase; obs-phrase allows '.').
  Phrase phrase() {
    Phrase ph;
    bool first = true;
    while (true) {
      comments();
      if (!is_word()) break;
      const auto& t = t_[j_];
      if ((!first && t.space_before) || t.kind == Kind::Quoted) ph.single = false;
      if (!first && t.space_before) ph.spaced += ' ';
      ph.spaced += t.text;
      ph.joined += t.text;
      first = false;
      ++j_;
    }
    return ph;
  }

  // local-part: words separated by dots, CFWS dropped (RFC 5322 §3.4.1, §4.4 obs-local-part).
  std::string local_part() {
    std::string out;
    bool want_word = true;
    while (true) {
      comments();
      if (is('.')) {
        out += '.';
        want_word = true;
      } else if (want_word && is_word()) {
        out += t_[j_].text;
        want_word = false;
      } else {
        break;
      }
      ++j_;
    }
    return out;
  }

  // domain: atoms or a literal separated by dots, CFWS dropped (RFC 5322 §4.4 obs-domain).
  std::string domain() {
    std::string out;
    bool want_atom = true;
    while (true) {
      comments();
      if (is('.')) {
        out += '.';
        want_atom = true;
      } else if (want_atom && j_ < t_.size() && (t_[j_].kind == Kind::Atom || t_[j_].kind == Kind::Literal)) {
        out += t_[j_].text;
        want_atom = false;
      } else {
        break;
      }
      ++j_;
    }
    return out;
  }

  // obs-route: "@" domain *("," ["@" domain]) ":" (RFC 5322 §4.4).
  std::optional<std::string> route() {
    std::string r;
    while (is('@') || (is(',') && !r.empty())) {
      if (is(',')) {
        ++j_;
        comments();
        if (!is('@')) continue;
      }
      ++j_;
      if (!r.empty()) r += ',';
      r += '@' + domain();
      comments();
    }
    if (is(':')) ++j_;
    if (r.find_first_not_of("@,") == std::string::npos) return std::nullopt;  // "@" alone: no route
    return r;
  }

  static std::optional<std::string> nonempty(std::string s) {
    if (s.empty()) return std::nullopt;
    return s;
  }

  void emit(std::optional<std::string> name, std::optional<std::string> rt, std::string mailbox,
            std::string host) {
    if (out_.size() >= max_) return;
    if (!name && !last_comment_.empty()) name = last_comment_;
    if (name) name = nonempty(collapse_whitespace(*name));
    out_.push_back({std::move(name), std::move(rt),
                    mailbox.empty() ? std::string(kMissingMailbox) : std::move(mailbox),
                    host.empty() ? std::string(kMissingDomain) : std::move(host)});
  }

  // The rest of a malformed element, up to the next ',' (or ';' inside a group).
  void skip_junk(bool in_group) {
    while (j_ < t_.size() && !is(',') && !(in_group && is(';'))) ++j_;
  }

  void angle_addr(std::optional<std::string> name) {
    ++j_;  // '<'
    comments();
    auto rt = route();
    std::string local = local_part();
    std::string host;
    if (is('@')) {
      ++j_;
      host = domain();
    }
    comments();
    if (is('>')) ++j_;
    comments();
    emit(std::move(name), std::move(rt), std::move(local), std::move(host));
  }

  void group(std::string name) {
    ++j_;  // ':'
    if (out_.size() < max_) out_.push_back({std::nullopt, std::nullopt, collapse_whitespace(name), std::nullopt});
    while (j_ < t_.size() && !is(';') && out_.size() < max_) {
      if (is(',') || is(':')) {  // separators, and a nested group start, which RFC 5322 forbids
        ++j_;
        continue;
      }
      element(true);
    }
    if (is(';')) ++j_;
    if (out_.size() < max_) out_.push_back({});  // RFC 3501 §7.4.2 end of group marker
  }

  void element(bool in_group) {
    last_comment_.clear();
    std::size_t start = j_;
    comments();
    if (is('@')) {  // obsolete route without angle brackets: @a:b@c
      auto rt = route();
      std::string local = local_part();
      std::string host;
      if (is('@')) {
        ++j_;
        host = domain();
      }
      comments();
      emit(std::nullopt, std::move(rt), std::move(local), std::move(host));
    } else {
      Phrase words = phrase();
      if (is('<')) {
        angle_addr(nonempty(words.spaced));
      } else if (is(':') && !in_group) {
        group(std::move(words.spaced));
        return;
      } else if (is('@')) {  // addr-spec: the words were the local part
        ++j_;
        std::string host = domain();
        comments();
        emit(std::nullopt, std::nullopt, std::move(words.joined), std::move(host));
      } else if (!words.spaced.empty()) {
        // No address at all: Dovecot's reading of `foo` (mailbox, no domain) and `a b c` or
        // `"a"` (a name).
        if (words.single) emit(std::nullopt, std::nullopt, std::move(words.joined), "");
        else emit(std::move(words.spaced), std::nullopt, "", "");
      }
    }
    skip_junk(in_group);
    if (j_ == start) ++j_;  // always progress
  }

  std::vector<Token> t_;
  std::size_t max_;
  std::size_t j_ = 0;
  std::string last_comment_;
  std::vector<ImapAddress> out_;
};

}  // namespace

std::vector<ImapAddress> parse_address_list(std::string_view raw, std::size_t max_addresses) {
  return Parser(tokenize(raw), max_addresses).list();
}

void append_address_list(std::string& out, const std::vector<ImapAddress>& list) {
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const auto& a : list) {
    out += '(';
    append_imap_nstring(out, a.name);
    out += ' ';
    append_imap_nstring(out, a.route);
    out += ' ';
    append_imap_nstring(out, a.mailbox);
    out += ' ';
    append_imap_nstring(out, a.host);
    out += ')';
  }
  out += ')';
}

}  // namespace valija::mail
