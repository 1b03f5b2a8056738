// Arguments of the mailbox commands: SELECT/EXAMINE, CREATE, LIST, LSUB, STATUS, APPEND.
#include <array>

#include "base/text.hpp"
#include "imap/proto/parse_detail.hpp"

namespace valija::imap::proto::detail {
namespace {

struct StatusName {
  std::string_view name;
  std::uint16_t bit;
};

// RFC 9051 §6.3.11, RFC 3501 §6.3.10 (RECENT), RFC 7162 §3.1.6 (HIGHESTMODSEQ).
constexpr std::array<StatusName, 8> kStatusItems{{
    {"MESSAGES", cmd::kMessages}, {"UIDNEXT", cmd::kUidNext}, {"UIDVALIDITY", cmd::kUidValidity},
    {"UNSEEN", cmd::kUnseen}, {"DELETED", cmd::kDeleted}, {"SIZE", cmd::kSize}, {"RECENT", cmd::kRecent},
    {"HIGHESTMODSEQ", cmd::kHighestModSeq},
}};

// RFC 6154 §2 special-use attributes, in their registered spelling.
constexpr std::array<std::string_view, 7> kUseAttrs = {"\\All", "\\Archive", "\\Drafts", "\\Flagged",
                                                       "\\Junk", "\\Sent", "\\Trash"};

// A sequence set of UIDs or numbers that must not use "*" or "$" (RFC 7162 §3.2.5).
bool plain_set(Lexer& lx, SequenceSet& out) {
  if (!lx.sequence_set(out)) return false;
  if (out.is_saved_result() || out.has_star()) return lx.fail("'*' and '$' are not allowed in QRESYNC sets");
  return true;
}

bool qresync(Lexer& lx, cmd::Qresync& q) {
  // "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
  if (!lx.sp() || !lx.expect('(') || !lx.nz_number(q.uidvalidity, "UIDVALIDITY") || !lx.sp() ||
      !lx.mod_sequence(q.modseq, false))
    return false;
  if (lx.eat(')')) return true;
  if (!lx.sp()) return false;
  if (lx.peek() != '(') {
    q.known_uids.emplace();
    if (!plain_set(lx, *q.known_uids)) return false;
    if (lx.eat(')')) return true;
    if (!lx.sp()) return false;
  }
  q.seq_match.emplace();
  return lx.expect('(') && plain_set(lx, q.seq_match->first) && lx.sp() && plain_set(lx, q.seq_match->second) &&
         lx.expect(')') && lx.expect(')');
}

}  // namespace

bool parse_select(Lexer& lx, cmd::Select& out) {
  if (!lx.sp() || !lx.astring(out.mailbox, "mailbox name")) return false;
  if (lx.at_end()) return true;
  // RFC 4466 §2.5: select-params = SP "(" select-param *(SP select-param) ")"
  if (!lx.sp() || !lx.expect('(')) return false;
  do {
    if (lx.keyword("CONDSTORE")) {
      if (out.condstore) return lx.fail("CONDSTORE given twice");
      out.condstore = true;
    } else if (lx.keyword("QRESYNC")) {
      if (out.qresync) return lx.fail("QRESYNC given twice");
      if (!qresync(lx, out.qresync.emplace())) return false;
    } else {
      return lx.fail("Unknown SELECT parameter");
    }
  } while (!lx.eat(')') && lx.sp());
  return !lx.failed();
}

bool parse_create(Lexer& lx, cmd::Create& out) {
  if (!lx.sp() || !lx.astring(out.mailbox, "mailbox name")) return false;
  if (lx.at_end()) return true;
  // RFC 4466 §2.2 create-params; RFC 6154 §3: "USE" SP "(" [use-attr *(SP use-attr)] ")"
  if (!lx.sp() || !lx.expect('(') || !lx.keyword("USE")) return lx.fail("Unknown CREATE parameter");
  if (!lx.sp() || !lx.expect('(')) return false;
  while (!lx.eat(')')) {
    if (out.use.size() == lx.limits().list_items) return lx.fail("Too many USE attributes", Code::Limit);
    if (!out.use.empty() && !lx.sp()) return false;
    std::string attr;
    if (!lx.expect('\\') || !lx.atom(attr, "special-use attribute")) return false;
    attr.insert(0, 1, '\\');
    for (auto known : kUseAttrs)
      if (text::iequals(known, attr)) attr.assign(known);
    out.use.push_back(std::move(attr));  // unknown ones: the session answers NO [USEATTR]
  }
  return lx.expect(')');
}

bool parse_status_items(Lexer& lx, std::uint16_t& items) {
  if (!lx.expect('(')) return false;
  do {
    auto word = lx.peek_atom();
    std::uint16_t bit = 0;
    for (const auto& s : kStatusItems)
      if (text::iequals(word, s.name)) bit = s.bit;
    if (!bit) return lx.fail("Unknown STATUS item");
    lx.skip(word.size());
    items |= bit;
  } while (!lx.eat(')') && lx.sp());
  return !lx.failed();
}

bool parse_status(Lexer& lx, cmd::Status& out) {
  return lx.sp() && lx.astring(out.mailbox, "mailbox name") && lx.sp() && parse_status_items(lx, out.items);
}

bool parse_lsub(Lexer& lx, cmd::Lsub& out) {
  return lx.sp() && lx.astring(out.reference, "reference") && lx.sp() && lx.list_mailbox(out.pattern);
}

namespace {

bool list_select_options(Lexer& lx, cmd::List& out) {
  // RFC 5258 §3: list-select-opts = "(" [...] ")"
  lx.skip(1);
  out.extended = true;
  while (!lx.eat(')')) {
    if (lx.failed()) return false;
    if (lx.keyword("SUBSCRIBED")) out.subscribed = true;
    else if (lx.keyword("REMOTE")) out.remote = true;
    else if (lx.keyword("RECURSIVEMATCH")) out.recursive_match = true;
    else if (lx.keyword("SPECIAL-USE")) out.special_use = true;  // RFC 6154 §3
    else return lx.fail("Unknown LIST selection option");
    if (lx.peek() != ')' && !lx.sp()) return false;
  }
  // RFC 5258 §3: RECURSIVEMATCH needs a base option to modify.
  if (out.recursive_match && !out.subscribed && !out.special_use)
    return lx.fail("RECURSIVEMATCH requires SUBSCRIBED or SPECIAL-USE");
  return lx.sp();
}

bool list_return_options(Lexer& lx, cmd::List& out) {
  // RFC 5258 §3: list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
  if (!lx.sp() || !lx.keyword("RETURN")) return lx.fail("Expected RETURN");
  out.extended = true;
  if (!lx.sp() || !lx.expect('(')) return false;
  while (!lx.eat(')')) {
    if (lx.failed()) return false;
    if (lx.keyword("SUBSCRIBED")) out.return_subscribed = true;
    else if (lx.keyword("CHILDREN")) out.return_children = true;
    else if (lx.keyword("SPECIAL-USE")) out.return_special_use = true;
    else if (lx.keyword("STATUS")) {  // RFC 5819 §2
      std::uint16_t items = 0;
      if (!lx.sp() || !parse_status_items(lx, items)) return false;
      out.return_status = items;
    } else {
      return lx.fail("Unknown LIST return option");
    }
    if (lx.peek() != ')' && !lx.sp()) return false;
  }
  return true;
}

}  // namespace

bool parse_list(Lexer& lx, cmd::List& out) {
  if (!lx.sp()) return false;
  if (lx.peek() == '(' && !list_select_options(lx, out)) return false;
  if (!lx.astring(out.reference, "reference") || !lx.sp()) return false;
  if (lx.eat('(')) {
    // RFC 5258 §3: patterns = "(" list-mailbox *(SP list-mailbox) ")"
    out.extended = true;
    do {
      if (out.patterns.size() == lx.limits().list_items) return lx.fail("Too many LIST patterns", Code::Limit);
      if (!lx.list_mailbox(out.patterns.emplace_back())) return false;
    } while (!lx.eat(')') && lx.sp());
    if (lx.failed()) return false;
  } else if (!lx.list_mailbox(out.patterns.emplace_back())) {
    return false;
  }
  return lx.at_end() || list_return_options(lx, out);
}

bool parse_append(Lexer& lx, cmd::Append& out, bool message) {
  // RFC 9051 §6.3.12: APPEND mailbox [SP flag-list] [SP date-time] SP literal
  if (!lx.sp() || !lx.astring(out.mailbox, "mailbox name") || !lx.sp()) return false;
  if (lx.peek() == '(' && !(lx.flag_list(out.flags) && lx.sp())) return false;
  if (lx.peek() == '"' && !(lx.date_time(out.date.emplace()) && lx.sp())) return false;
  if (!message) return lx.end();
  std::string msg;
  if (!lx.message_literal(msg, out.binary)) return false;
  out.message = std::move(msg);
  return true;
}

}  // namespace valija::imap::proto::detail
