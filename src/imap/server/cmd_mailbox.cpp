// SELECT/EXAMINE (with CONDSTORE and QRESYNC), CREATE, DELETE, RENAME, SUBSCRIBE,
// UNSUBSCRIBE, STATUS (RFC 9051 §6.3, RFC 7162, RFC 6154, RFC 8438).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "imap/proto/output.hpp"
#include "imap/proto/sequence_set.hpp"
#include "imap/server/session.hpp"

namespace valija::imap::server {
namespace {

constexpr std::string_view kSystemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

// RFC 6154 §2 attributes a client may ask CREATE to set.
bool valid_special_use(std::string_view u) {
  for (std::string_view s : {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"})
    if (u == s) return true;
  return false;
}

}  // namespace

Done Session::cmd_select(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Select>(cmd.args);
  bool examine = cmd.verb == proto::Verb::Examine;
  if (args.qresync && !qresync_) return Done::bad("Enable QRESYNC first");  // RFC 7162 §3.2.5
  if (phase_ == Phase::Selected) {
    // RFC 7162 §3.2.11, RFC 9051 §7.1: the old mailbox is closed first, without expunging.
    phase_ = Phase::Authenticated;
    out.text += "* OK [CLOSED] Previous mailbox closed\r\n";
  }
  saved_.reset();
  auto name = mailbox_arg(args.mailbox, false);
  if (!name) return name.error();
  auto mb = store_.find_mailbox(account_.id, *name);
  if (!mb) return failed(mb.error());
  if (!*mb || (*mb)->noselect) return Done::no("NONEXISTENT", "No such mailbox");
  if (args.condstore) condstore_ = true;  // RFC 7162 §3.1.8
  changed_ = false;
  auto all = store_.changes_since((*mb)->id, 0, false);
  if (!all) return failed(all.error());
  std::uint32_t recent_from = UINT32_MAX;
  if (!rev2_ && !examine) {  // EXAMINE does not take \Recent away from others
    auto r = store_.claim_recent((*mb)->id);
    if (r) recent_from = *r;
  }
  view_.reset(std::move(*all), recent_from);
  parts_.clear();
  read_only_ = examine;
  phase_ = Phase::Selected;

  std::set<std::string> keywords;
  std::uint32_t first_unseen = 0;
  for (std::uint32_t seq = 1; seq <= view_.exists(); ++seq) {
    bool seen = false;
    for_each_flag(view_.at(seq).info.flags, [&](std::string_view f) {
      if (f == "\\Seen") seen = true;
      else if (f[0] != '\\') keywords.emplace(f);
    });
    if (!seen && !first_unseen) first_unseen = seq;
  }
  std::string flags(kSystemFlags);
  for (const auto& k : keywords) flags += " " + k;
  const auto& info = view_.info();
  out.text += fmt::format("* {} EXISTS\r\n", view_.exists());
  if (!rev2_) {
    out.text += fmt::format("* {} RECENT\r\n", view_.recent_count());
    if (first_unseen) out.text += fmt::format("* OK [UNSEEN {}] First unseen\r\n", first_unseen);
  }
  out.text += fmt::format("* OK [UIDVALIDITY {}] UIDs valid\r\n", info.uidvalidity);
  out.text += fmt::format("* OK [UIDNEXT {}] Predicted next UID\r\n", info.uidnext);
  out.text += fmt::format("* FLAGS ({})\r\n", flags);
  if (examine) out.text += "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n";
  else out.text += fmt::format("* OK [PERMANENTFLAGS ({} \\*)] Flags permitted\r\n", flags);
  // RFC 7162 §3.1.2.1: every SELECT of a CONDSTORE server reports HIGHESTMODSEQ.
  out.text += fmt::format("* OK [HIGHESTMODSEQ {}] Highest\r\n", info.highest_modseq);
  if (rev2_) {  // RFC 9051 §6.3.2: the name as the server spells it
    out.text += "* LIST () \"/\" ";
    proto::write_mailbox(out.text, info.name, utf8_);
    out.text += "\r\n";
  }
  if (args.qresync && args.qresync->uidvalidity == info.uidvalidity) qresync_select(*args.qresync, out);
  return Done::ok(examine ? "EXAMINE completed" : "SELECT completed", examine ? "READ-ONLY" : "READ-WRITE");
}

// RFC 7162 §3.2.5.2: what the client missed since its MODSEQ: expunged UIDs (of those it
// knows) as VANISHED (EARLIER), then changed messages as FETCH.
void Session::qresync_select(const proto::cmd::Qresync& q, Output& out) {
  auto ch = store_.changes_since(view_.info().id, q.modseq, true);
  if (!ch) return;
  proto::IdSet known;
  if (q.known_uids) known = q.known_uids->resolve(UINT32_MAX);
  proto::IdSet vanished;
  for (auto uid : ch->expunged)
    if (!q.known_uids || known.contains(uid)) vanished.add(uid);
  if (!vanished.empty()) out.text += "* VANISHED (EARLIER) " + vanished.to_string() + "\r\n";
  for (const auto& m : ch->messages) {
    auto seq = view_.seq_of(m.uid);
    if (!seq) continue;
    const auto& v = view_.at(*seq);
    out.text += fmt::format("* {} FETCH (UID {} FLAGS ", *seq, v.info.uid);
    write_flags(out.text, v, !rev2_);
    out.text += fmt::format(" MODSEQ ({}))\r\n", v.info.modseq);
  }
}

Done Session::cmd_create(const proto::Command& cmd, Output&) {
  const auto& args = std::get<proto::cmd::Create>(cmd.args);
  auto name = mailbox_arg(args.mailbox, true);
  if (!name) return name.error();
  if (args.use.size() > 1) return Done::no("USEATTR", "One special use per mailbox");
  std::string use = args.use.empty() ? "" : args.use[0];
  if (!use.empty() && !valid_special_use(use)) return Done::no("USEATTR", "Unknown special use");  // RFC 6154 §3
  auto r = store_.create_mailbox(account_.id, *name, use);
  if (!r) return failed(r.error());
  return Done::ok("CREATE completed");
}

Done Session::cmd_delete(const proto::Command& cmd, Output&) {
  auto name = mailbox_arg(std::get<proto::cmd::Mailbox>(cmd.args).mailbox, false);
  if (!name) return name.error();
  auto r = store_.delete_mailbox(account_.id, *name);
  if (!r) {
    if (r.error().code == Errc::Exists) return Done::no("INUSE", "Mailbox has children and no messages to delete");
    if (r.error().code == Errc::Permission) return Done::no("CANNOT", "INBOX cannot be deleted");
    return failed(r.error());
  }
  return Done::ok("DELETE completed");
}

Done Session::cmd_rename(const proto::Command& cmd, Output&) {
  const auto& args = std::get<proto::cmd::Rename>(cmd.args);
  auto from = mailbox_arg(args.from, false);
  if (!from) return from.error();
  auto to = mailbox_arg(args.to, true);
  if (!to) return to.error();
  auto r = store_.rename_mailbox(account_.id, *from, *to);
  if (!r) return failed(r.error());
  return Done::ok("RENAME completed");
}

Done Session::cmd_subscribe(const proto::Command& cmd, Output&) {
  auto name = mailbox_arg(std::get<proto::cmd::Mailbox>(cmd.args).mailbox, false);
  if (!name) return name.error();
  bool on = cmd.verb == proto::Verb::Subscribe;
  if (on) {  // RFC 9051 §6.3.7: a server may refuse names that do not exist; valija does
    auto mb = store_.find_mailbox(account_.id, *name);
    if (!mb) return failed(mb.error());
    if (!*mb) return Done::no("NONEXISTENT", "No such mailbox");
  }
  auto r = store_.set_subscribed(account_.id, *name, on);
  if (!r) return failed(r.error());
  return Done::ok(on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

std::optional<Error> Session::write_status(Output& out, const store::MailboxInfo& mb, std::uint16_t items) {
  using namespace proto::cmd;
  store::MailboxCounts c;
  if (items & (kMessages | kUnseen | kDeleted | kSize | kRecent)) {
    auto counts = store_.count_messages(mb.id);
    if (!counts) return counts.error();
    c = *counts;
  }
  std::string list;
  auto add = [&](std::string_view name, std::uint64_t v) {
    if (!list.empty()) list += ' ';
    list += fmt::format("{} {}", name, v);
  };
  if (items & kMessages) add("MESSAGES", c.messages);
  if ((items & kRecent) && !rev2_) add("RECENT", c.recent);
  if (items & kUidNext) add("UIDNEXT", mb.uidnext);
  if (items & kUidValidity) add("UIDVALIDITY", mb.uidvalidity);
  if (items & kUnseen) add("UNSEEN", c.unseen);
  if (items & kDeleted) add("DELETED", c.deleted);
  if (items & kSize) add("SIZE", c.size);
  if (items & kHighestModSeq) {
    add("HIGHESTMODSEQ", mb.highest_modseq);
    condstore_ = true;  // RFC 7162 §3.1: a CONDSTORE enabling command
  }
  out.text += "* STATUS ";
  proto::write_mailbox(out.text, mb.name, utf8_);
  out.text += " (" + list + ")\r\n";
  return std::nullopt;
}

Done Session::cmd_status(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Status>(cmd.args);
  auto name = mailbox_arg(args.mailbox, false);
  if (!name) return name.error();
  auto mb = store_.find_mailbox(account_.id, *name);
  if (!mb) return failed(mb.error());
  if (!*mb || (*mb)->noselect) return Done::no("NONEXISTENT", "No such mailbox");
  if (auto e = write_status(out, **mb, args.items)) return failed(*e);
  return Done::ok("STATUS completed");
}

}  // namespace valija::imap::server
