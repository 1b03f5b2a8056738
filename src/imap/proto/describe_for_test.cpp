#include "imap/proto/describe_for_test.hpp"

#include <array>

namespace valija::imap::proto::testing {
namespace {

std::string q(const std::string& s) { return "<" + s + ">"; }

std::string describe_date(const Date& d) { return format_date(d); }

std::string describe_set(const SequenceSet& s) { return s.to_string(); }

std::string status_items(std::uint16_t items) {
  static constexpr std::array<std::pair<std::uint16_t, const char*>, 8> kNames{{
      {cmd::kMessages, "MESSAGES"}, {cmd::kUidNext, "UIDNEXT"}, {cmd::kUidValidity, "UIDVALIDITY"},
      {cmd::kUnseen, "UNSEEN"}, {cmd::kDeleted, "DELETED"}, {cmd::kSize, "SIZE"}, {cmd::kRecent, "RECENT"},
      {cmd::kHighestModSeq, "HIGHESTMODSEQ"},
  }};
  std::string out = "(";
  for (const auto& [bit, name] : kNames)
    if (items & bit) out += (out.size() > 1 ? " " : "") + std::string(name);
  return out + ")";
}

std::string list(const std::vector<std::string>& v) {
  std::string out = "(";
  for (const auto& s : v) out += (out.size() > 1 ? " " : "") + s;
  return out + ")";
}

const char* op_name(SearchOp op) {
  static constexpr const char* kNames[] = {
      "all", "and", "or", "not", "seq", "uid", "answered", "deleted", "draft", "flagged", "seen", "recent", "new",
      "old", "unanswered", "undeleted", "undraft", "unflagged", "unseen", "keyword", "unkeyword", "bcc", "body",
      "cc", "from", "subject", "text", "to", "header", "before", "on", "since", "sentbefore", "senton", "sentsince",
      "larger", "smaller", "modseq"};
  return kNames[static_cast<int>(op)];
}

struct ArgsDescriber {
  std::string operator()(const cmd::NoArgs&) const { return ""; }
  std::string operator()(const cmd::Authenticate& a) const {
    return " " + a.mechanism + (a.initial_response ? " ir=" + q(*a.initial_response) : "");
  }
  std::string operator()(const cmd::Login& a) const { return " " + q(a.user) + " " + q(a.password); }
  std::string operator()(const cmd::Select& a) const {
    std::string out = " " + q(a.mailbox);
    if (a.condstore) out += " condstore";
    if (a.qresync) {
      out += " qresync=" + std::to_string(a.qresync->uidvalidity) + "," + std::to_string(a.qresync->modseq);
      if (a.qresync->known_uids) out += " known=" + describe_set(*a.qresync->known_uids);
      if (a.qresync->seq_match)
        out += " match=" + describe_set(a.qresync->seq_match->first) + "/" + describe_set(a.qresync->seq_match->second);
    }
    return out;
  }
  std::string operator()(const cmd::Create& a) const { return " " + q(a.mailbox) + (a.use.empty() ? "" : " use=" + list(a.use)); }
  std::string operator()(const cmd::Mailbox& a) const { return " " + q(a.mailbox); }
  std::string operator()(const cmd::Rename& a) const { return " " + q(a.from) + " " + q(a.to); }
  std::string operator()(const cmd::List& a) const {
    std::string out = " " + q(a.reference);
    for (const auto& p : a.patterns) out += " " + q(p);
    if (a.subscribed) out += " sel=subscribed";
    if (a.remote) out += " sel=remote";
    if (a.recursive_match) out += " sel=recursivematch";
    if (a.special_use) out += " sel=special-use";
    if (a.return_subscribed) out += " ret=subscribed";
    if (a.return_children) out += " ret=children";
    if (a.return_special_use) out += " ret=special-use";
    if (a.return_status) out += " ret=status" + status_items(*a.return_status);
    if (a.extended) out += " extended";
    return out;
  }
  std::string operator()(const cmd::Lsub& a) const { return " " + q(a.reference) + " " + q(a.pattern); }
  std::string operator()(const cmd::Status& a) const { return " " + q(a.mailbox) + " " + status_items(a.items); }
  std::string operator()(const cmd::Append& a) const {
    std::string out = " " + q(a.mailbox);
    if (!a.flags.empty()) out += " " + list(a.flags);
    if (a.date) out += " date=" + std::to_string(a.date->to_unix()) + "/" + std::to_string(a.date->zone);
    if (a.binary) out += " binary";
    out += a.message ? " msg=" + q(*a.message) : " msg=streamed";
    return out;
  }
  std::string operator()(const cmd::Search& a) const {
    std::string out;
    if (a.ret) {
      out += " ret=(";
      if (a.ret->min) out += "min ";
      if (a.ret->max) out += "max ";
      if (a.ret->all) out += "all ";
      if (a.ret->count) out += "count ";
      if (a.ret->save) out += "save ";
      out += ")";
    }
    if (a.charset) out += " charset=" + *a.charset;
    if (a.modseq) out += " modseq";
    return out + " " + describe(a.program);
  }
  std::string operator()(const cmd::Fetch& a) const {
    std::string out = " " + describe_set(a.set);
    for (const auto& i : a.items) out += " " + describe(i);
    if (a.changed_since) out += " changedsince=" + std::to_string(*a.changed_since);
    if (a.vanished) out += " vanished";
    return out;
  }
  std::string operator()(const cmd::Store& a) const {
    static constexpr const char* kMode[] = {"set", "add", "remove"};
    std::string out = " " + describe_set(a.set) + " " + kMode[static_cast<int>(a.mode)];
    if (a.silent) out += " silent";
    if (a.unchanged_since) out += " unchangedsince=" + std::to_string(*a.unchanged_since);
    return out + " " + list(a.flags);
  }
  std::string operator()(const cmd::CopyMove& a) const { return " " + describe_set(a.set) + " " + q(a.mailbox); }
  std::string operator()(const cmd::UidExpunge& a) const { return " " + describe_set(a.set); }
  std::string operator()(const cmd::Enable& a) const { return " " + list(a.capabilities); }
  std::string operator()(const cmd::Id& a) const {
    if (!a.params) return " NIL";
    std::string out;
    for (const auto& [k, v] : *a.params) out += " " + q(k) + "=" + (v ? q(*v) : "NIL");
    return out.empty() ? " ()" : out;
  }
  std::string operator()(const cmd::QuotaRoot& a) const { return " " + q(a.root); }
  std::string operator()(const cmd::SetQuota& a) const {
    std::string out = " " + q(a.root);
    for (const auto& [k, v] : a.limits) out += " " + k + "=" + std::to_string(v);
    return out;
  }
};

}  // namespace

std::string describe(const SearchKey& k) {
  std::string out = "(";
  out += op_name(k.op);
  switch (k.op) {
    case SearchOp::Seq: case SearchOp::Uid: out += " " + describe_set(k.set); break;
    case SearchOp::Header: out += " " + q(k.text) + " " + q(k.value); break;
    case SearchOp::Before: case SearchOp::On: case SearchOp::Since: case SearchOp::SentBefore:
    case SearchOp::SentOn: case SearchOp::SentSince: out += " " + describe_date(k.date); break;
    case SearchOp::Larger: case SearchOp::Smaller: out += " " + std::to_string(k.number); break;
    case SearchOp::ModSeq:
      if (k.entry) {
        static constexpr const char* kType[] = {"priv", "shared", "all"};
        out += " " + q(k.entry->flag) + " " + kType[static_cast<int>(k.entry->type)];
      }
      out += " " + std::to_string(k.number);
      break;
    default:
      if (!k.text.empty()) out += " " + q(k.text);
  }
  for (const auto& c : k.children) out += " " + describe(c);
  return out + ")";
}

std::string describe(const FetchItem& i) {
  static constexpr const char* kNames[] = {"ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER",
                                           "RFC822.SIZE", "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID",
                                           "BODY", "BINARY", "BINARY.SIZE", "MODSEQ"};
  std::string out = kNames[static_cast<int>(i.att)];
  if (i.peek) out += ".PEEK";
  if (i.att == FetchAtt::BodySection || i.att == FetchAtt::BinarySection || i.att == FetchAtt::BinarySize) {
    out += "[";
    for (std::size_t n = 0; n < i.section.part.size(); ++n) out += (n ? "." : "") + std::to_string(i.section.part[n]);
    static constexpr const char* kText[] = {"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"};
    if (i.section.text != SectionText::None) out += (i.section.part.empty() ? "" : ".") + std::string(kText[static_cast<int>(i.section.text)]);
    if (!i.section.fields.empty()) out += " " + list(i.section.fields);
    out += "]";
  }
  if (i.partial) out += "<" + std::to_string(i.partial->offset) + "." + std::to_string(i.partial->count) + ">";
  return out;
}

std::string describe(const Command& c) { return c.tag + " " + std::string(verb_name(c.verb)) + std::visit(ArgsDescriber{}, c.args); }

std::string describe_parse(std::string_view text, const ParserLimits& limits) {
  auto c = parse_command(text, limits);
  if (!c) {
    auto r = c.error().render();
    return "ERR " + r.substr(0, r.size() - 2);
  }
  return describe(*c);
}

}  // namespace valija::imap::proto::testing
