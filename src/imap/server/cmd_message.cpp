// APPEND, CHECK, CLOSE/UNSELECT, EXPUNGE/UID EXPUNGE, STORE, COPY/MOVE (RFC 9051 §6.3.12,
// §6.4; UIDPLUS RFC 4315, MOVE RFC 6851, CONDSTORE RFC 7162).
#include <fmt/format.h>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "imap/proto/sequence_set.hpp"
#include "mail/mime.hpp"
#include "mail/mime_cache.hpp"
#include "imap/server/session.hpp"

namespace valija::imap::server {
namespace {

std::string join(const std::vector<std::string>& flags) {
  std::string out;
  for (const auto& f : flags) {
    if (!out.empty()) out += ' ';
    out += f;
  }
  return out;
}

bool has_recent(const std::vector<std::string>& flags) {
  for (const auto& f : flags)
    if (text::iequals(f, "\\Recent")) return true;
  return false;
}

// Bare LF line ends become CRLF (RFC 9051 §2.3.1: messages are stored as CRLF lines;
// clients parse sizes and sections in that form).
std::string with_crlf(std::string message) {
  std::size_t bare = 0;
  for (std::size_t i = 0; i < message.size(); ++i)
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) ++bare;
  if (!bare) return message;
  std::string out;
  out.reserve(message.size() + bare);
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) out += '\r';
    out += message[i];
  }
  return out;
}

}  // namespace

Done Session::cmd_append(const proto::Command& cmd, Output&) {
  const auto& args = std::get<proto::cmd::Append>(cmd.args);
  auto name = mailbox_arg(args.mailbox, false);
  if (!name) return name.error();
  if (has_recent(args.flags)) return Done::bad("\\Recent cannot be set");
  auto mb = store_.find_mailbox(account_.id, *name);
  if (!mb) return failed(mb.error());
  // RFC 9051 §6.3.12: TRYCREATE tells the client it may CREATE and try again.
  if (!*mb || (*mb)->noselect) return Done::no("TRYCREATE", "No such mailbox");
  if (!args.message || args.message->empty()) return Done::no("CANNOT", "An empty message cannot be stored");
  auto body = with_crlf(*args.message);
  if (body.size() > config_.limits.append) return Done::no("TOOBIG", "Message too big");
  store::Delivery d;
  d.body = body;
  d.internal_date = args.date ? args.date->to_unix() : clock::now_unix();
  d.trace_id = clock::random_id(12);
  d.meta = mail::mime::encode(mail::mime::parse(body));  // computed once, for FETCH and SEARCH
  store::Copy c;
  c.account = account_.id;
  c.mailbox = (*mb)->name;
  c.flags = join(args.flags);
  d.copies.push_back(std::move(c));
  auto r = append_(std::move(d));
  if (!r) return failed(r.error());
  if (phase_ == Phase::Selected && view_.info().id == r->mailbox) changed_ = true;  // RFC 3501 §6.3.11: EXISTS now
  return Done::ok("APPEND completed", fmt::format("APPENDUID {} {}", r->uidvalidity, r->uid));
}

Done Session::cmd_check(const proto::Command&, Output&) { return Done::ok("CHECK completed"); }

Done Session::cmd_close(const proto::Command& cmd, Output&) {
  // RFC 9051 §6.4.1: CLOSE expunges silently (unless read-only); UNSELECT (RFC 3691) not.
  if (cmd.verb == proto::Verb::Close && !read_only_) {
    auto r = write([&] { return store_.expunge_deleted(view_.info().id, std::nullopt); });
    if (!r) return failed(r.error());
  }
  phase_ = Phase::Authenticated;
  view_ = MailboxView{};
  parts_.clear();
  saved_.reset();
  return Done::ok(cmd.verb == proto::Verb::Close ? "CLOSE completed" : "UNSELECT completed");
}

Done Session::cmd_expunge(const proto::Command& cmd, Output& out) {
  if (read_only_) return Done::no("READ-ONLY", "Mailbox is read-only");
  std::optional<std::vector<std::uint32_t>> within;
  if (cmd.verb == proto::Verb::UidExpunge) {  // RFC 4315 §2.1: only these UIDs
    within.emplace();
    for (auto seq : resolve(std::get<proto::cmd::UidExpunge>(cmd.args).set, true))
      within->push_back(view_.at(seq).info.uid);
  }
  auto r = write([&] {
    return within ? store_.expunge_deleted(view_.info().id, std::span<const std::uint32_t>(*within))
                  : store_.expunge_deleted(view_.info().id, std::nullopt);
  });
  if (!r) return failed(r.error());
  view_.expunged_by_us(*r, out.text, announce_options(true));
  return Done::ok("EXPUNGE completed");
}

Done Session::cmd_store(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Store>(cmd.args);
  if (read_only_) return Done::no("READ-ONLY", "Mailbox is read-only");
  if (has_recent(args.flags)) return Done::bad("\\Recent cannot be set");
  if (!args.uid && !seqs_valid(args.set)) return Done::bad("Message sequence number out of range");
  if (args.unchanged_since) condstore_ = true;  // RFC 7162 §3.1
  auto seqs = resolve(args.set, args.uid);
  std::vector<std::uint32_t> uids;
  uids.reserve(seqs.size());
  for (auto s : seqs)
    if (!view_.at(s).expunged) uids.push_back(view_.at(s).info.uid);
  auto op = args.mode == proto::cmd::Store::Mode::Add      ? store::FlagOp::Add
            : args.mode == proto::cmd::Store::Mode::Remove ? store::FlagOp::Remove
                                                           : store::FlagOp::Replace;
  auto r = write([&] { return store_.store_flags(view_.info().id, uids, op, join(args.flags), args.unchanged_since); });
  if (!r) return failed(r.error());
  for (const auto& m : r->messages) {
    view_.flags_by_us(m.uid, m.flags, m.modseq);
    auto seq = view_.seq_of(m.uid);
    if (!seq) continue;
    // RFC 9051 §6.4.6: the new flags unless .SILENT; RFC 7162 §3.1.3: MODSEQ of changed
    // messages even when silent.
    bool with_flags = !args.silent;
    bool with_modseq = condstore_ && (m.changed || with_flags);
    if (!with_flags && !(with_modseq && m.changed)) continue;
    out.text += fmt::format("* {} FETCH (", *seq);
    const char* sep = "";
    if (args.uid || qresync_) {
      out.text += fmt::format("UID {}", m.uid);
      sep = " ";
    }
    if (with_flags) {
      out.text += sep;
      out.text += "FLAGS ";
      write_flags(out.text, view_.at(*seq), !rev2_);
      sep = " ";
    }
    if (with_modseq) out.text += fmt::format("{}MODSEQ ({})", sep, m.modseq);
    out.text += ")\r\n";
  }
  if (!r->modified.empty()) {  // RFC 7162 §3.1.3: MODIFIED names the refused ones
    proto::IdSet modified;
    for (auto uid : r->modified) {
      if (args.uid) modified.add(uid);
      else if (auto s = view_.seq_of(uid)) modified.add(*s);
    }
    return Done::ok("Conditional STORE failed for some messages", "MODIFIED " + modified.to_string());
  }
  return Done::ok("STORE completed");
}

Done Session::cmd_copy(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::CopyMove>(cmd.args);
  bool move = cmd.verb == proto::Verb::Move || cmd.verb == proto::Verb::UidMove;
  if (move && read_only_) return Done::no("READ-ONLY", "Mailbox is read-only");
  if (!args.uid && !seqs_valid(args.set)) return Done::bad("Message sequence number out of range");
  auto name = mailbox_arg(args.mailbox, false);
  if (!name) return name.error();
  auto dest = store_.find_mailbox(account_.id, *name);
  if (!dest) return failed(dest.error());
  if (!*dest || (*dest)->noselect) return Done::no("TRYCREATE", "No such mailbox");
  std::vector<std::uint32_t> uids;
  for (auto s : resolve(args.set, args.uid)) {
    // RFC 9051 §6.4.7: all or nothing; a message another session expunged (its EXPUNGE
    // not sent yet) makes the copy fail, as a FETCH of it does.
    if (view_.at(s).expunged) return Done::no("EXPUNGEISSUED", "Some of the requested messages no longer exist");
    uids.push_back(view_.at(s).info.uid);
  }
  if (uids.empty()) return Done::ok(move ? "MOVE completed" : "COPY completed");
  auto r = write([&] { return store_.copy_messages(view_.info().id, uids, (*dest)->id, move); });
  if (!r) return failed(r.error());
  std::vector<std::uint32_t> from, to;
  for (auto [f, t] : r->uids) {
    from.push_back(f);
    to.push_back(t);
  }
  auto copyuid = fmt::format("COPYUID {} {} {}", r->uidvalidity, proto::render_compact(from), proto::render_compact(to));
  if ((*dest)->id == view_.info().id) changed_ = true;
  if (!move) return Done::ok("COPY completed", copyuid);
  // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
  out.text += "* OK [" + copyuid + "] Moved\r\n";
  view_.expunged_by_us(from, out.text, announce_options(true));
  return Done::ok("MOVE completed");
}

}  // namespace valija::imap::server
