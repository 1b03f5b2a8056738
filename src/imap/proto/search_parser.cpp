// SEARCH arguments (RFC 9051 §6.4.4): return options, charset and the key tree.
#include <array>

#include "base/text.hpp"
#include "imap/proto/parse_detail.hpp"

namespace valija::imap::proto::detail {
namespace {

enum class Arg : std::uint8_t { None, String, Date, Number, Keyword, Header, Set, Not, Or, ModSeq };

struct KeyEntry {
  std::string_view name;
  SearchOp op;
  Arg arg;
};

// RFC 9051 §9 search-key plus RFC 3501's NEW, OLD, RECENT and RFC 7162's MODSEQ.
constexpr std::array<KeyEntry, 36> kKeys{{
    {"ALL", SearchOp::All, Arg::None},          {"ANSWERED", SearchOp::Answered, Arg::None},
    {"BCC", SearchOp::Bcc, Arg::String},        {"BEFORE", SearchOp::Before, Arg::Date},
    {"BODY", SearchOp::Body, Arg::String},      {"CC", SearchOp::Cc, Arg::String},
    {"DELETED", SearchOp::Deleted, Arg::None},  {"DRAFT", SearchOp::Draft, Arg::None},
    {"FLAGGED", SearchOp::Flagged, Arg::None},  {"FROM", SearchOp::From, Arg::String},
    {"HEADER", SearchOp::Header, Arg::Header},  {"KEYWORD", SearchOp::Keyword, Arg::Keyword},
    {"LARGER", SearchOp::Larger, Arg::Number},  {"MODSEQ", SearchOp::ModSeq, Arg::ModSeq},
    {"NEW", SearchOp::New, Arg::None},          {"NOT", SearchOp::Not, Arg::Not},
    {"OLD", SearchOp::Old, Arg::None},          {"ON", SearchOp::On, Arg::Date},
    {"OR", SearchOp::Or, Arg::Or},              {"RECENT", SearchOp::Recent, Arg::None},
    {"SEEN", SearchOp::Seen, Arg::None},        {"SENTBEFORE", SearchOp::SentBefore, Arg::Date},
    {"SENTON", SearchOp::SentOn, Arg::Date},    {"SENTSINCE", SearchOp::SentSince, Arg::Date},
    {"SINCE", SearchOp::Since, Arg::Date},      {"SMALLER", SearchOp::Smaller, Arg::Number},
    {"SUBJECT", SearchOp::Subject, Arg::String}, {"TEXT", SearchOp::Text, Arg::String},
    {"TO", SearchOp::To, Arg::String},          {"UID", SearchOp::Uid, Arg::Set},
    {"UNANSWERED", SearchOp::Unanswered, Arg::None}, {"UNDELETED", SearchOp::Undeleted, Arg::None},
    {"UNDRAFT", SearchOp::Undraft, Arg::None},  {"UNFLAGGED", SearchOp::Unflagged, Arg::None},
    {"UNKEYWORD", SearchOp::Unkeyword, Arg::Keyword}, {"UNSEEN", SearchOp::Unseen, Arg::None},
}};

// RFC 5322 §3.6.8 ftext: printable ASCII except ":".
bool is_field_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < 33 || c > 126 || c == ':') return false;
  return true;
}

class KeyParser {
 public:
  KeyParser(Lexer& lx, bool& modseq) : lx_(lx), modseq_(modseq) {}

  bool key(SearchKey& out, std::size_t depth);

 private:
  bool nested(SearchKey& out, std::size_t depth);
  bool args(const KeyEntry& e, SearchKey& out, std::size_t depth);
  bool modseq(SearchKey& out);

  Lexer& lx_;
  bool& modseq_;
  std::size_t keys_ = 0;
};

bool KeyParser::nested(SearchKey& out, std::size_t depth) {
  // Depth counts "(", NOT and OR together; recursion stops here, so the stack is bounded.
  if (depth >= lx_.limits().search_depth)
    return lx_.fail("Search program nested too deeply (limit " + std::to_string(lx_.limits().search_depth) + ")",
                    Code::Limit);
  return key(out, depth + 1);
}

bool KeyParser::key(SearchKey& out, std::size_t depth) {
  if (++keys_ > lx_.limits().search_keys)
    return lx_.fail("Too many search keys (limit " + std::to_string(lx_.limits().search_keys) + ")", Code::Limit);
  char c = lx_.peek();
  if (c == '(') {
    if (depth >= lx_.limits().search_depth)
      return lx_.fail("Search program nested too deeply (limit " + std::to_string(lx_.limits().search_depth) + ")",
                      Code::Limit);
    lx_.skip(1);
    out.op = SearchOp::And;
    do {
      if (!key(out.children.emplace_back(), depth + 1)) return false;
    } while (!lx_.eat(')') && lx_.sp());
    return !lx_.failed();
  }
  if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
    out.op = SearchOp::Seq;
    return lx_.sequence_set(out.set);
  }
  auto word = lx_.peek_atom();
  for (const auto& e : kKeys) {
    if (!text::iequals(word, e.name)) continue;
    lx_.skip(word.size());
    out.op = e.op;
    return args(e, out, depth);
  }
  return lx_.fail(word.empty() ? "Missing search key" : "Unknown search key");
}

bool KeyParser::args(const KeyEntry& e, SearchKey& out, std::size_t depth) {
  switch (e.arg) {
    case Arg::None: return true;
    case Arg::String: return lx_.sp() && lx_.astring(out.text, "search string");
    case Arg::Date: return lx_.sp() && lx_.date(out.date);
    case Arg::Number: return lx_.sp() && lx_.number64(out.number, "size");
    case Arg::Keyword: return lx_.sp() && lx_.atom(out.text, "keyword");
    case Arg::Set: return lx_.sp() && lx_.sequence_set(out.set);
    case Arg::Header:
      if (!lx_.sp() || !lx_.astring(out.text, "header field name")) return false;
      if (!is_field_name(out.text)) return lx_.fail("Invalid header field name");
      return lx_.sp() && lx_.astring(out.value, "search string");
    case Arg::Not: return lx_.sp() && nested(out.children.emplace_back(), depth);
    case Arg::Or:
      out.children.reserve(2);
      return lx_.sp() && nested(out.children.emplace_back(), depth) && lx_.sp() &&
             nested(out.children.emplace_back(), depth);
    case Arg::ModSeq: return modseq(out);
  }
  return false;
}

bool KeyParser::modseq(SearchKey& out) {
  // RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
  modseq_ = true;
  if (!lx_.sp()) return false;
  if (lx_.peek() == '"') {
    std::string name;
    if (!lx_.string(name, "entry name")) return false;
    // entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE
    if (!text::istarts_with(name, "/flags/") || name.size() == 7) return lx_.fail("Invalid MODSEQ entry name");
    ModSeqEntry entry;
    entry.flag = name.substr(7);
    if (!lx_.sp()) return false;
    if (lx_.keyword("priv")) entry.type = ModSeqEntry::Type::Priv;
    else if (lx_.keyword("shared")) entry.type = ModSeqEntry::Type::Shared;
    else if (lx_.keyword("all")) entry.type = ModSeqEntry::Type::All;
    else return lx_.fail("Invalid MODSEQ entry type (priv, shared or all)");
    out.entry = std::move(entry);
    if (!lx_.sp()) return false;
  }
  return lx_.mod_sequence(out.number, true);
}

bool return_options(Lexer& lx, SearchReturn& r) {
  // RFC 4731 §3.1: "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
  if (!lx.sp() || !lx.expect('(')) return false;
  bool any = false;
  while (!lx.eat(')')) {
    if (any && !lx.sp()) return false;
    if (lx.keyword("MIN")) r.min = true;
    else if (lx.keyword("MAX")) r.max = true;
    else if (lx.keyword("ALL")) r.all = true;
    else if (lx.keyword("COUNT")) r.count = true;
    else if (lx.keyword("SAVE")) r.save = true;  // RFC 5182 §2.1
    else return lx.fail("Unknown SEARCH return option");
    any = true;
  }
  if (!any) r.all = true;  // RFC 4731 §3.1: "RETURN ()" is "RETURN (ALL)"
  return lx.sp();
}

}  // namespace

bool parse_search(Lexer& lx, cmd::Search& out) {
  if (!lx.sp()) return false;
  if (lx.keyword("RETURN") && !return_options(lx, out.ret.emplace())) return false;
  if (lx.keyword("CHARSET")) {
    // RFC 9051 §6.4.4: charset = atom / quoted
    std::string cs;
    if (!lx.sp() || !lx.astring(cs, "charset") || !lx.sp()) return false;
    out.charset = std::move(cs);
  }
  KeyParser p(lx, out.modseq);
  SearchKey first;
  if (!p.key(first, 0)) return false;
  if (lx.at_end()) {
    out.program = std::move(first);
    return true;
  }
  out.program.op = SearchOp::And;
  out.program.children.push_back(std::move(first));
  while (!lx.at_end()) {
    if (!lx.sp() || !p.key(out.program.children.emplace_back(), 0)) return false;
  }
  return true;
}

}  // namespace valija::imap::proto::detail
