// FETCH arguments (RFC 9051 §6.4.5): items, macros, sections, partials and modifiers.
#include <array>

#include "base/text.hpp"
#include "imap/proto/parse_detail.hpp"

namespace valija::imap::proto::detail {
namespace {

struct AttName {
  std::string_view name;
  FetchAtt att;
  bool peek;
};

// The name before any "[" (BODY[...], BINARY.PEEK[...]).
constexpr std::array<AttName, 15> kAtts{{
    {"ENVELOPE", FetchAtt::Envelope, false},        {"FLAGS", FetchAtt::Flags, false},
    {"INTERNALDATE", FetchAtt::InternalDate, false}, {"RFC822", FetchAtt::Rfc822, false},
    {"RFC822.HEADER", FetchAtt::Rfc822Header, false}, {"RFC822.SIZE", FetchAtt::Rfc822Size, false},
    {"RFC822.TEXT", FetchAtt::Rfc822Text, false},    {"BODY", FetchAtt::Body, false},
    {"BODYSTRUCTURE", FetchAtt::BodyStructure, false}, {"UID", FetchAtt::Uid, false},
    {"BODY.PEEK", FetchAtt::BodySection, true},      {"BINARY", FetchAtt::BinarySection, false},
    {"BINARY.PEEK", FetchAtt::BinarySection, true},  {"BINARY.SIZE", FetchAtt::BinarySize, false},
    {"MODSEQ", FetchAtt::ModSeq, false},
}};

bool is_field_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < 33 || c > 126 || c == ':') return false;
  return true;
}

class FetchParser {
 public:
  explicit FetchParser(Lexer& lx) : lx_(lx) {}
  bool item(FetchItem& out);

 private:
  bool section(Section& out, bool binary);
  bool section_text(Section& out);
  bool header_list(std::vector<std::string>& out);
  bool partial(std::optional<Partial>& out);

  Lexer& lx_;
  std::size_t fields_ = 0;
};

bool FetchParser::item(FetchItem& out) {
  // The name runs up to "[", SP, ")" or the end; "[" is an atom char, so cut by hand.
  auto atom = lx_.peek_atom();
  auto name = atom.substr(0, atom.find('['));
  const AttName* found = nullptr;
  for (const auto& a : kAtts)
    if (text::iequals(name, a.name)) found = &a;
  if (!found) return lx_.fail(name.empty() ? "Missing fetch attribute" : "Unknown fetch attribute");
  lx_.skip(name.size());
  out.att = found->att;
  out.peek = found->peek;
  bool has_section = lx_.peek() == '[';
  switch (out.att) {
    case FetchAtt::Body:
      if (!has_section) return true;  // BODY alone: the non-extensible BODYSTRUCTURE
      out.att = FetchAtt::BodySection;
      [[fallthrough]];
    case FetchAtt::BodySection:
      return section(out.section, false) && partial(out.partial);
    case FetchAtt::BinarySection:
      return section(out.section, true) && partial(out.partial);  // RFC 3516 §4.1
    case FetchAtt::BinarySize:
      return section(out.section, true);
    default:
      if (has_section) return lx_.fail("This fetch attribute takes no section");
      return true;
  }
}

bool FetchParser::section(Section& out, bool binary) {
  if (!lx_.expect('[')) return false;
  if (lx_.eat(']')) return true;
  // section-part = nz-number *("." nz-number)
  if (lx_.peek() >= '0' && lx_.peek() <= '9') {
    while (true) {
      if (out.part.size() == lx_.limits().section_parts) return lx_.fail("Section part nested too deeply", Code::Limit);
      if (!lx_.nz_number(out.part.emplace_back(), "section part")) return false;
      // A "." before a digit continues the part; before a word it starts the section text.
      if (lx_.peek() != '.' || lx_.peek_at(1) < '0' || lx_.peek_at(1) > '9') break;
      lx_.skip(1);
    }
    if (lx_.eat(']')) return true;
    // RFC 3516 §4.1: section-binary = "[" [section-part] "]"
    if (binary || !lx_.expect('.')) return lx_.fail("Invalid section");
  } else if (binary) {
    return lx_.fail("BINARY takes only a part number");
  }
  return section_text(out) && lx_.expect(']');
}

bool FetchParser::section_text(Section& out) {
  std::size_t n = 0;
  auto atom = lx_.peek_atom();
  while (n < atom.size() && atom[n] != '[' && atom[n] != ']') ++n;
  auto word = atom.substr(0, n);
  if (text::iequals(word, "HEADER")) out.text = SectionText::Header;
  else if (text::iequals(word, "HEADER.FIELDS")) out.text = SectionText::HeaderFields;
  else if (text::iequals(word, "HEADER.FIELDS.NOT")) out.text = SectionText::HeaderFieldsNot;
  else if (text::iequals(word, "TEXT")) out.text = SectionText::Text;
  else if (text::iequals(word, "MIME") && !out.part.empty()) out.text = SectionText::Mime;  // RFC 9051 §6.4.5
  else return lx_.fail("Invalid section");
  lx_.skip(word.size());
  if (out.text == SectionText::HeaderFields || out.text == SectionText::HeaderFieldsNot)
    return lx_.sp() && header_list(out.fields);
  return true;
}

bool FetchParser::header_list(std::vector<std::string>& out) {
  // header-list = "(" header-fld-name *(SP header-fld-name) ")"
  if (!lx_.expect('(')) return false;
  do {
    if (++fields_ > lx_.limits().header_fields) return lx_.fail("Too many header field names", Code::Limit);
    std::string& f = out.emplace_back();
    if (!lx_.astring(f, "header field name")) return false;
    if (!is_field_name(f)) return lx_.fail("Invalid header field name");
  } while (!lx_.eat(')') && lx_.sp());
  return !lx_.failed();
}

bool FetchParser::partial(std::optional<Partial>& out) {
  // RFC 9051 §9: partial = "<" number64 "." nz-number64 ">"
  if (!lx_.eat('<')) return true;
  Partial p;
  if (!lx_.number64(p.offset, "partial offset") || !lx_.expect('.') || !lx_.number64(p.count, "partial length"))
    return false;
  if (p.count == 0) return lx_.fail("Partial length must not be 0");
  out = p;
  return lx_.expect('>');
}

void add_macro(std::vector<FetchItem>& items, std::initializer_list<FetchAtt> atts) {
  for (auto a : atts) items.push_back(FetchItem{a, false, {}, std::nullopt});
}

bool modifiers(Lexer& lx, cmd::Fetch& out) {
  // RFC 7162 §3.1.4.1, §3.2.6: fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
  if (!lx.sp() || !lx.expect('(')) return false;
  do {
    if (lx.keyword("CHANGEDSINCE")) {
      std::uint64_t n = 0;
      if (!lx.sp() || !lx.mod_sequence(n, false)) return false;
      out.changed_since = n;
    } else if (lx.keyword("VANISHED")) {
      out.vanished = true;
    } else {
      return lx.fail("Unknown FETCH modifier");
    }
  } while (!lx.eat(')') && lx.sp());
  if (lx.failed()) return false;
  // RFC 7162 §3.2.6: VANISHED only in UID FETCH and only with CHANGEDSINCE.
  if (out.vanished && (!out.uid || !out.changed_since)) return lx.fail("VANISHED requires UID FETCH with CHANGEDSINCE");
  return true;
}

}  // namespace

bool parse_fetch(Lexer& lx, cmd::Fetch& out) {
  if (!lx.sp() || !lx.sequence_set(out.set) || !lx.sp()) return false;
  // RFC 9051 §6.4.5 macros, only outside parentheses.
  if (lx.keyword("ALL")) {
    add_macro(out.items, {FetchAtt::Flags, FetchAtt::InternalDate, FetchAtt::Rfc822Size, FetchAtt::Envelope});
  } else if (lx.keyword("FAST")) {
    add_macro(out.items, {FetchAtt::Flags, FetchAtt::InternalDate, FetchAtt::Rfc822Size});
  } else if (lx.keyword("FULL")) {
    add_macro(out.items, {FetchAtt::Flags, FetchAtt::InternalDate, FetchAtt::Rfc822Size, FetchAtt::Envelope, FetchAtt::Body});
  } else {
    FetchParser p(lx);
    bool list = lx.eat('(');
    do {
      if (out.items.size() == lx.limits().fetch_items) return lx.fail("Too many fetch items", Code::Limit);
      if (!p.item(out.items.emplace_back())) return false;
    } while (list && !lx.eat(')') && lx.sp());
    if (lx.failed()) return false;
  }
  return lx.at_end() || modifiers(lx, out);
}

}  // namespace valija::imap::proto::detail
