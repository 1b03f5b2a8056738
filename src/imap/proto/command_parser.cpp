// parse_command(): tag, verb lookup in one table, then the verb's argument parser.
#include <array>

#include "base/text.hpp"
#include "imap/proto/command.hpp"
#include "imap/proto/parse_detail.hpp"

namespace valija::imap::proto {
namespace {

using ParseFn = bool (*)(Lexer&, Command&);

struct VerbEntry {
  std::string_view name;  // "FETCH"; UID forms are looked up after "UID SP"
  Verb verb;
  bool uid;
  ParseFn parse;
  std::string_view usage;
};

template <class T>
T& args(Command& c) {
  return c.args.emplace<T>();
}

bool no_args(Lexer&, Command& c) {
  args<cmd::NoArgs>(c);
  return true;
}

// RFC 4422 §3.1: sasl-mech = 1*20 (ALPHA / DIGIT / "-" / "_"); sent upper-case.
bool is_mechanism(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

// RFC 9051 §9 base64 = *(4base64-char) [base64-terminal]; the SASL layer decodes it.
bool is_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  auto pad = s.find('=');
  if (pad != std::string_view::npos && (pad + 2 < s.size() || s.find_first_not_of('=', pad) != std::string_view::npos))
    return false;
  for (char c : s.substr(0, pad))
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  return true;
}

bool authenticate(Lexer& lx, Command& c) {
  auto& a = args<cmd::Authenticate>(c);
  if (!lx.sp() || !lx.atom(a.mechanism, "mechanism")) return false;
  if (!is_mechanism(a.mechanism)) return lx.fail("Invalid SASL mechanism name");
  for (char& ch : a.mechanism) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
  if (lx.at_end()) return true;
  // RFC 4959 §3: initial response in base64, "=" for an empty one.
  std::string ir;
  if (!lx.sp() || !lx.atom(ir, "initial response")) return false;
  if (ir == "=") ir.clear();
  else if (!is_base64(ir)) return lx.fail("Invalid base64 in the initial response");
  a.initial_response = std::move(ir);
  return true;
}

bool login(Lexer& lx, Command& c) {
  auto& a = args<cmd::Login>(c);
  return lx.sp() && lx.astring(a.user, "user name") && lx.sp() && lx.astring(a.password, "password");
}

bool select(Lexer& lx, Command& c) { return detail::parse_select(lx, args<cmd::Select>(c)); }
bool create(Lexer& lx, Command& c) { return detail::parse_create(lx, args<cmd::Create>(c)); }
bool list(Lexer& lx, Command& c) { return detail::parse_list(lx, args<cmd::List>(c)); }
bool lsub(Lexer& lx, Command& c) { return detail::parse_lsub(lx, args<cmd::Lsub>(c)); }
bool status(Lexer& lx, Command& c) { return detail::parse_status(lx, args<cmd::Status>(c)); }
bool append(Lexer& lx, Command& c) { return detail::parse_append(lx, args<cmd::Append>(c), true); }
bool store(Lexer& lx, Command& c) {
  auto& a = args<cmd::Store>(c);
  a.uid = c.verb == Verb::UidStore;
  return detail::parse_store(lx, a);
}

bool copy_move(Lexer& lx, Command& c) {
  auto& a = args<cmd::CopyMove>(c);
  a.uid = c.verb == Verb::UidCopy || c.verb == Verb::UidMove;
  return detail::parse_copy_move(lx, a);
}

bool mailbox(Lexer& lx, Command& c) {
  auto& a = args<cmd::Mailbox>(c);
  return lx.sp() && lx.astring(a.mailbox, "mailbox name");
}

bool rename(Lexer& lx, Command& c) {
  auto& a = args<cmd::Rename>(c);
  return lx.sp() && lx.astring(a.from, "mailbox name") && lx.sp() && lx.astring(a.to, "new mailbox name");
}

bool search(Lexer& lx, Command& c) {
  auto& a = args<cmd::Search>(c);
  a.uid = c.verb == Verb::UidSearch;
  return detail::parse_search(lx, a);
}

bool fetch(Lexer& lx, Command& c) {
  auto& a = args<cmd::Fetch>(c);
  a.uid = c.verb == Verb::UidFetch;
  return detail::parse_fetch(lx, a);
}

bool uid_expunge(Lexer& lx, Command& c) {
  auto& a = args<cmd::UidExpunge>(c);
  return lx.sp() && lx.sequence_set(a.set);
}

bool enable(Lexer& lx, Command& c) {
  auto& a = args<cmd::Enable>(c);
  // RFC 5161 §3.1: ENABLE 1*(SP capability)
  do {
    if (a.capabilities.size() == lx.limits().list_items) return lx.fail("Too many capabilities", Code::Limit);
    std::string cap;
    if (!lx.sp() || !lx.atom(cap, "capability")) return false;
    for (char& ch : cap) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    a.capabilities.push_back(std::move(cap));
  } while (!lx.at_end());
  return true;
}

bool id(Lexer& lx, Command& c) {
  auto& a = args<cmd::Id>(c);
  if (!lx.sp()) return false;
  if (lx.keyword("NIL")) return true;
  if (!lx.expect('(')) return false;
  a.params.emplace();
  if (lx.eat(')')) return true;
  const auto& lim = lx.limits();
  do {
    // RFC 2971 §3.3: at most 30 pairs, fields of 30 octets, values of 1024.
    if (a.params->size() == lim.id_pairs) return lx.fail("Too many ID fields (RFC 2971 §3.3)", Code::Limit);
    std::string field;
    std::optional<std::string> value;
    if (!a.params->empty() && !lx.sp()) return false;
    if (!lx.string(field, "ID field") || !lx.sp() || !lx.nstring(value, "ID value")) return false;
    if (field.size() > lim.id_field) return lx.fail("ID field name too long (RFC 2971 §3.3)", Code::Limit);
    if (value && value->size() > lim.id_value) return lx.fail("ID value too long (RFC 2971 §3.3)", Code::Limit);
    a.params->emplace_back(std::move(field), std::move(value));
  } while (!lx.eat(')'));
  return true;
}

bool get_quota(Lexer& lx, Command& c) {
  auto& a = args<cmd::QuotaRoot>(c);
  return lx.sp() && lx.astring(a.root, "quota root");
}

bool set_quota(Lexer& lx, Command& c) {
  auto& a = args<cmd::SetQuota>(c);
  // RFC 9208 §4.4: SETQUOTA quota-root SP "(" [resource SP number64 *(SP ...)] ")"
  if (!lx.sp() || !lx.astring(a.root, "quota root") || !lx.sp() || !lx.expect('(')) return false;
  while (!lx.eat(')')) {
    if (a.limits.size() == lx.limits().list_items) return lx.fail("Too many quota resources", Code::Limit);
    if (!a.limits.empty() && !lx.sp()) return false;
    std::string name;
    std::uint64_t n = 0;
    if (!lx.atom(name, "quota resource") || !lx.sp() || !lx.number64(n, "quota limit")) return false;
    for (char& ch : name) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    a.limits.emplace_back(std::move(name), n);
  }
  return true;
}

constexpr std::array<VerbEntry, 39> kVerbs{{
    {"CAPABILITY", Verb::Capability, false, no_args, "CAPABILITY"},
    {"NOOP", Verb::Noop, false, no_args, "NOOP"},
    {"LOGOUT", Verb::Logout, false, no_args, "LOGOUT"},
    {"STARTTLS", Verb::StartTls, false, no_args, "STARTTLS"},
    {"AUTHENTICATE", Verb::Authenticate, false, authenticate, "AUTHENTICATE mechanism [initial-response]"},
    {"LOGIN", Verb::Login, false, login, "LOGIN user password"},
    {"SELECT", Verb::Select, false, select, "SELECT mailbox [(CONDSTORE | QRESYNC (...))]"},
    {"EXAMINE", Verb::Examine, false, select, "EXAMINE mailbox [(CONDSTORE | QRESYNC (...))]"},
    {"CREATE", Verb::Create, false, create, "CREATE mailbox [(USE (attributes))]"},
    {"DELETE", Verb::Delete, false, mailbox, "DELETE mailbox"},
    {"RENAME", Verb::Rename, false, rename, "RENAME mailbox new-name"},
    {"SUBSCRIBE", Verb::Subscribe, false, mailbox, "SUBSCRIBE mailbox"},
    {"UNSUBSCRIBE", Verb::Unsubscribe, false, mailbox, "UNSUBSCRIBE mailbox"},
    {"LIST", Verb::List, false, list, "LIST [(options)] reference pattern|(patterns) [RETURN (options)]"},
    {"LSUB", Verb::Lsub, false, lsub, "LSUB reference pattern"},
    {"NAMESPACE", Verb::Namespace, false, no_args, "NAMESPACE"},
    {"STATUS", Verb::Status, false, status, "STATUS mailbox (items)"},
    {"APPEND", Verb::Append, false, append, "APPEND mailbox [(flags)] [date-time] literal"},
    {"CHECK", Verb::Check, false, no_args, "CHECK"},
    {"CLOSE", Verb::Close, false, no_args, "CLOSE"},
    {"UNSELECT", Verb::Unselect, false, no_args, "UNSELECT"},
    {"EXPUNGE", Verb::Expunge, false, no_args, "EXPUNGE"},
    {"EXPUNGE", Verb::UidExpunge, true, uid_expunge, "UID EXPUNGE uid-set"},
    {"SEARCH", Verb::Search, false, search, "SEARCH [RETURN (options)] [CHARSET charset] keys"},
    {"SEARCH", Verb::UidSearch, true, search, "UID SEARCH [RETURN (options)] [CHARSET charset] keys"},
    {"FETCH", Verb::Fetch, false, fetch, "FETCH set items [(modifiers)]"},
    {"FETCH", Verb::UidFetch, true, fetch, "UID FETCH set items [(modifiers)]"},
    {"STORE", Verb::Store, false, store, "STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags"},
    {"STORE", Verb::UidStore, true, store, "UID STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags"},
    {"COPY", Verb::Copy, false, copy_move, "COPY set mailbox"},
    {"COPY", Verb::UidCopy, true, copy_move, "UID COPY set mailbox"},
    {"MOVE", Verb::Move, false, copy_move, "MOVE set mailbox"},
    {"MOVE", Verb::UidMove, true, copy_move, "UID MOVE set mailbox"},
    {"IDLE", Verb::Idle, false, no_args, "IDLE"},
    {"ENABLE", Verb::Enable, false, enable, "ENABLE capability..."},
    {"ID", Verb::Id, false, id, "ID NIL | ID (field value ...)"},
    {"GETQUOTA", Verb::GetQuota, false, get_quota, "GETQUOTA root"},
    {"GETQUOTAROOT", Verb::GetQuotaRoot, false, mailbox, "GETQUOTAROOT mailbox"},
    {"SETQUOTA", Verb::SetQuota, false, set_quota, "SETQUOTA root (resource limit ...)"},
}};

const VerbEntry* find_verb(std::string_view name, bool uid) {
  for (const auto& e : kVerbs)
    if (e.uid == uid && text::iequals(e.name, name)) return &e;
  return nullptr;
}

tl::unexpected<ParseError> error(std::string tag, std::string text, Code code = Code::None) {
  return tl::unexpected(ParseError{std::move(tag), Status::Bad, code, std::move(text), false});
}

// The command word: letters only, so "FETCH(" or "NOOP{" is not a verb.
std::string_view verb_word(Lexer& lx) {
  auto a = lx.peek_atom();
  std::size_t n = 0;
  while (n < a.size() && ((a[n] >= 'A' && a[n] <= 'Z') || (a[n] >= 'a' && a[n] <= 'z'))) ++n;
  if (n != a.size()) return {};
  lx.skip(n);
  return a;
}

// Tag, then the verb ("UID" and its sub-verb); nullptr with `err` set on failure.
const VerbEntry* head(Lexer& lx, std::string_view text, std::string& tag, tl::unexpected<ParseError>& err) {
  std::size_t n = 0;
  while (n < text.size() && is_tag_char(text[n])) ++n;
  // RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">, then SP.
  if (n == 0 || n >= text.size() || text[n] != ' ') {
    err = error("", text.empty() ? "Empty command" : "Missing or invalid tag");
    return nullptr;
  }
  tag.assign(text.substr(0, n));
  lx.skip(n + 1);
  auto word = verb_word(lx);
  bool uid = false;
  if (text::iequals(word, "UID")) {
    uid = true;
    if (!lx.sp()) {
      err = error(tag, "Missing command after UID");
      return nullptr;
    }
    word = verb_word(lx);
  }
  const VerbEntry* e = word.empty() ? nullptr : find_verb(word, uid);
  if (!e) err = error(tag, uid ? "Unknown UID command" : word.empty() ? "Missing or invalid command" : "Unknown command");
  return e;
}

tl::expected<Command, ParseError> run(std::string_view text, const ParserLimits& limits, bool append_start) {
  Lexer lx(text, limits);
  Command c;
  tl::unexpected<ParseError> err(ParseError{});
  const VerbEntry* e = head(lx, text, c.tag, err);
  if (!e) return err;
  c.verb = e->verb;
  bool ok;
  if (append_start) {
    if (e->verb != Verb::Append) return error(c.tag, "Not an APPEND command");
    ok = detail::parse_append(lx, args<cmd::Append>(c), false);
  } else {
    ok = e->parse(lx, c) && lx.end();
  }
  if (ok) return c;
  std::string t = lx.error();
  if (lx.code() == Code::None) t += " (Syntax: " + std::string(e->usage) + ")";
  return error(c.tag, std::move(t), lx.code());
}

}  // namespace

std::string_view verb_name(Verb v) {
  for (const auto& e : kVerbs)
    if (e.verb == v) {
      switch (v) {
        case Verb::UidExpunge: return "UID EXPUNGE";
        case Verb::UidSearch: return "UID SEARCH";
        case Verb::UidFetch: return "UID FETCH";
        case Verb::UidStore: return "UID STORE";
        case Verb::UidCopy: return "UID COPY";
        case Verb::UidMove: return "UID MOVE";
        default: return e.name;
      }
    }
  return "?";
}

tl::expected<Command, ParseError> parse_command(std::string_view text, const ParserLimits& limits) {
  return run(text, limits, false);
}

tl::expected<Command, ParseError> parse_append_start(std::string_view prefix, const ParserLimits& limits) {
  return run(prefix, limits, true);
}

bool is_idle_done(std::string_view line) { return text::iequals(line, "DONE"); }

}  // namespace valija::imap::proto
