#include "imap/server/session.hpp"

#include <fmt/format.h>

#include <array>
#include <exception>

#include "auth/sasl.hpp"
#include "base/log.hpp"
#include "imap/proto/mailbox_name.hpp"

namespace valija::imap::server {

using proto::Verb;

namespace {

constexpr std::uint8_t kNotAuth = 1, kAuth = 2, kSelected = 4;
constexpr std::uint8_t kAnyPhase = kNotAuth | kAuth | kSelected;
constexpr std::uint8_t kLoggedIn = kAuth | kSelected;

std::uint8_t bit(Phase p) {
  switch (p) {
    case Phase::NotAuthenticated: return kNotAuth;
    case Phase::Authenticated: return kAuth;
    case Phase::Selected: return kSelected;
    case Phase::Logout: return 0;
  }
  return 0;
}

}  // namespace

// The command table (STYLE.md "Commands are a table"). `seqs`: the command uses
// sequence numbers, so no EXPUNGE may follow it (RFC 9051 §7.5.1; RFC 3501 §7.4.1 names
// FETCH, STORE and SEARCH; COPY and MOVE by number are kept as safe).
struct Session::Spec {
  Verb verb;
  Handler handler;
  std::uint8_t phases;
  bool seqs;
};

const Session::Spec* Session::find_spec(Verb verb) {
  static const std::array<Spec, 34> table{{
      {Verb::Capability, &Session::cmd_capability, kAnyPhase, false},
      {Verb::Noop, &Session::cmd_noop, kAnyPhase, false},
      {Verb::Id, &Session::cmd_id, kAnyPhase, false},
      {Verb::Enable, &Session::cmd_enable, kLoggedIn, false},
      {Verb::Namespace, &Session::cmd_namespace, kLoggedIn, false},
      {Verb::GetQuota, &Session::cmd_getquota, kLoggedIn, false},
      {Verb::GetQuotaRoot, &Session::cmd_getquotaroot, kLoggedIn, false},
      {Verb::SetQuota, &Session::cmd_setquota, kLoggedIn, false},
      {Verb::Select, &Session::cmd_select, kLoggedIn, false},
      {Verb::Examine, &Session::cmd_select, kLoggedIn, false},
      {Verb::Create, &Session::cmd_create, kLoggedIn, false},
      {Verb::Delete, &Session::cmd_delete, kLoggedIn, false},
      {Verb::Rename, &Session::cmd_rename, kLoggedIn, false},
      {Verb::Subscribe, &Session::cmd_subscribe, kLoggedIn, false},
      {Verb::Unsubscribe, &Session::cmd_subscribe, kLoggedIn, false},
      {Verb::List, &Session::cmd_list, kLoggedIn, false},
      {Verb::Lsub, &Session::cmd_lsub, kLoggedIn, false},
      {Verb::Status, &Session::cmd_status, kLoggedIn, false},
      {Verb::Append, &Session::cmd_append, kLoggedIn, false},
      {Verb::Check, &Session::cmd_check, kSelected, false},
      {Verb::Close, &Session::cmd_close, kSelected, false},
      {Verb::Unselect, &Session::cmd_close, kSelected, false},
      {Verb::Expunge, &Session::cmd_expunge, kSelected, false},
      {Verb::UidExpunge, &Session::cmd_expunge, kSelected, false},
      {Verb::Search, &Session::cmd_search, kSelected, true},
      {Verb::UidSearch, &Session::cmd_search, kSelected, false},
      {Verb::Fetch, &Session::cmd_fetch, kSelected, true},
      {Verb::UidFetch, &Session::cmd_fetch, kSelected, false},
      {Verb::Store, &Session::cmd_store, kSelected, true},
      {Verb::UidStore, &Session::cmd_store, kSelected, false},
      {Verb::Copy, &Session::cmd_copy, kSelected, true},
      {Verb::UidCopy, &Session::cmd_copy, kSelected, false},
      {Verb::Move, &Session::cmd_copy, kSelected, true},
      {Verb::UidMove, &Session::cmd_copy, kSelected, false},
  }};
  for (const auto& s : table)
    if (s.verb == verb) return &s;
  return nullptr;
}

Session::Session(SessionConfig config, store::Store& store, Appender append, Writer writer)
    : config_(std::move(config)), store_(store), append_(std::move(append)), writer_(std::move(writer)) {}

std::optional<store::MailboxId> Session::selected_id() const {
  if (phase_ != Phase::Selected) return std::nullopt;
  return view_.info().id;
}

std::string Session::capabilities() const {
  std::string c = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE";
  if (phase_ == Phase::NotAuthenticated) {
    if (config_.starttls) c += " STARTTLS";
    // RFC 9051 §6.2.3: no password in the clear unless allowed.
    if (login_allowed())
      for (auto m : auth::sasl_mechanisms(true, true, channel_binding_))
        c += fmt::format(" AUTH={}", auth::sasl_mechanism_name(m));
    else c += " LOGINDISABLED";
    return c;
  }
  c += fmt::format(
      " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS"
      " ESEARCH SEARCHRES STATUS=SIZE APPENDLIMIT={} QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE CONDSTORE QRESYNC"
      " BINARY",
      config_.limits.append);
  return c;
}

Done Session::failed(const Error& e) {
  switch (e.code) {
    case Errc::NotFound: return Done::no("NONEXISTENT", "No such mailbox or message");
    case Errc::Exists: return Done::no("ALREADYEXISTS", "Mailbox already exists");
    case Errc::Quota: return Done::no("OVERQUOTA", "Quota exceeded");
    case Errc::TooBig: return Done::no("TOOBIG", "Too big");
    case Errc::Limit: return Done::no("LIMIT", "Limit reached");
    case Errc::Permission: return Done::no("NOPERM", "Not allowed");
    case Errc::Invalid: return Done::no("CANNOT", e.detail);
    case Errc::Temporary:
    case Errc::Unavailable: return Done::no("UNAVAILABLE", "Temporary failure, please try again");
    // RFC 5530 has no code of its own for a full disk; OVERQUOTA is what clients (and
    // Dovecot) use for it: no retry loop, the user is told storage is short.
    case Errc::NoSpace: return Done::no("OVERQUOTA", "Not enough disk space on the server, try again later");
    case Errc::Corrupt: return Done::no("SERVERBUG", "Stored data is damaged; the administrator has been told");
    case Errc::Internal: break;
  }
  return Done::no("SERVERBUG", "Internal error, please try again later");
}

tl::expected<std::string, Done> Session::mailbox_arg(const std::string& wire, bool creating) const {
  std::string_view name = wire;
  // RFC 9051 §6.3.4: a trailing delimiter only says children will follow.
  if (creating && name.size() > 1 && name.back() == '/') name.remove_suffix(1);
  auto r = proto::mailbox_from_wire(name, utf8_, config_.limits);
  if (r) return *r;
  if (r.error().is_encoding()) return tl::unexpected(Done::bad(r.error().text));
  return tl::unexpected(creating ? Done::no("CANNOT", r.error().text) : Done::no("NONEXISTENT", r.error().text));
}

std::vector<std::uint32_t> Session::resolve(const proto::SequenceSet& set, bool uid) const {
  std::vector<std::uint32_t> seqs;
  if (set.is_saved_result()) {  // RFC 5182 §2.1: "$" is the saved UIDs
    if (saved_)
      for (auto u : *saved_)
        if (auto s = view_.seq_of(u)) seqs.push_back(*s);
    return seqs;
  }
  auto n = view_.exists();
  if (uid) {
    auto uids = view_.uids();
    auto ids = set.resolve(uids.empty() ? 0 : uids.back());
    ids.for_each_present(uids, [&](std::uint32_t u) { seqs.push_back(*view_.seq_of(u)); });
  } else {
    auto ids = set.resolve(n).clamped(n);
    for (const auto& r : ids.ranges())
      for (std::uint64_t s = r.first; s <= r.last; ++s) seqs.push_back(static_cast<std::uint32_t>(s));
  }
  return seqs;
}

bool Session::seqs_valid(const proto::SequenceSet& set) const {
  if (set.is_saved_result()) return true;
  auto n = view_.exists();
  for (const auto& r : set.ranges()) {
    if ((r.first == proto::kStar || r.last == proto::kStar) && n == 0) return false;
    if ((r.first != proto::kStar && r.first > n) || (r.last != proto::kStar && r.last > n)) return false;
  }
  return true;
}

AnnounceOptions Session::announce_options(bool expunges) const {
  AnnounceOptions o;
  o.expunges = expunges;
  o.vanished = qresync_;
  o.modseq = condstore_;
  o.uid = qresync_;
  o.recent = !rev2_;
  return o;
}

void Session::sync(Output& out, bool expunges_allowed) {
  if (phase_ != Phase::Selected) return;
  if (changed_.exchange(false, std::memory_order_acq_rel)) {
    auto ch = store_.changes_since(view_.info().id, view_.highest_modseq(), true);
    if (!ch) {
      if (ch.error().code == Errc::NotFound) {
        // The mailbox was deleted or renamed away by another session.
        out.text += "* BYE The selected mailbox no longer exists\r\n";
        phase_ = Phase::Logout;
        return;
      }
      changed_ = true;  // try again with the next command
      log::warn("event=imap_sync_failed user={} error={}", log::q(account_.address()), log::q(ch.error().detail));
      return;
    }
    std::uint32_t recent_from = UINT32_MAX;
    if (!rev2_ && !read_only_ && !ch->messages.empty() && ch->messages.back().uid >= view_.info().uidnext) {
      auto r = store_.claim_recent(view_.info().id);
      if (r) recent_from = *r;
    }
    view_.absorb(*ch, recent_from);
  }
  view_.announce(out.text, announce_options(expunges_allowed));
}

void Session::idle_updates(Output& out) { sync(out, true); }

void Session::execute(const proto::Command& cmd, Output& out) {
  parts_.trim();
  const Spec* spec = find_spec(cmd.verb);
  Done done;
  if (!spec) {
    done = Done::bad("Command not valid here");
  } else if (!(spec->phases & bit(phase_))) {
    done = Done::bad(phase_ == Phase::NotAuthenticated ? "Log in first"
                     : phase_ == Phase::Authenticated  ? "Select a mailbox first"
                                                       : "Command not valid in this state");
  } else {
    try {
      done = (this->*(spec->handler))(cmd, out);
    } catch (const std::exception& e) {
      log::error("event=imap_command_crash user={} command={} error={}", log::q(account_.address()),
                 proto::verb_name(cmd.verb), log::q(e.what()));
      done = Done::no("SERVERBUG", "Internal error, please try again later");
    }
  }
  if (phase_ == Phase::Selected) sync(out, !(spec && spec->seqs));
  out.text += cmd.tag;
  out.text += done.kind == Done::Kind::Ok ? " OK " : done.kind == Done::Kind::No ? " NO " : " BAD ";
  if (!done.code.empty()) out.text += "[" + done.code + "] ";
  out.text += done.text;
  out.text += "\r\n";
}

}  // namespace valija::imap::server
