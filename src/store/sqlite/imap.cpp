// What IMAP needs beyond delivery: flags with MODSEQ (RFC 7162), COPY/MOVE with
// COPYUID (RFC 4315, RFC 6851), expunge of \Deleted, changes since a MODSEQ, \Recent,
// the cached MIME structure, and the change listener that wakes other sessions.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "base/text.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {
namespace {

// RFC 9051 §2.3.2. \Recent is never stored: it belongs to a session.
constexpr std::array<std::string_view, 5> kSystemFlags{"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};

std::vector<std::string> split_flags(std::string_view flags) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < flags.size();) {
    auto end = flags.find(' ', i);
    if (end == std::string_view::npos) end = flags.size();
    auto f = flags.substr(i, end - i);
    i = end + 1;
    if (f.empty() || text::iequals(f, "\\Recent")) continue;
    std::string flag(f);
    for (auto sys : kSystemFlags)
      if (text::iequals(f, sys)) flag = std::string(sys);
    out.push_back(std::move(flag));
  }
  return out;
}

bool has_flag(const std::vector<std::string>& set, std::string_view f) {
  return std::any_of(set.begin(), set.end(), [&](const std::string& x) { return text::iequals(x, f); });
}

std::string join_flags(const std::vector<std::string>& set) {
  std::string out;
  for (const auto& f : set) {
    if (!out.empty()) out += ' ';
    out += f;
  }
  return out;
}

// The flags after `op`, normalised: system flags in canonical case, no duplicates
// (flags compare case-insensitively), order of first appearance kept.
std::string apply_flags(std::string_view current, FlagOp op, const std::vector<std::string>& given) {
  std::vector<std::string> out;
  auto add = [&](const std::string& f) {
    if (!has_flag(out, f)) out.push_back(f);
  };
  if (op != FlagOp::Replace)
    for (auto& f : split_flags(current))
      if (op != FlagOp::Remove || !has_flag(given, f)) add(f);
  if (op != FlagOp::Remove)
    for (const auto& f : given) add(f);
  return join_flags(out);
}

// A read transaction on a reader connection: every statement sees one snapshot.
class ReadTx {
 public:
  explicit ReadTx(Db& db) : db_(db) { ok_ = static_cast<bool>(db_.exec("BEGIN")); }
  ~ReadTx() {
    if (ok_) (void)db_.exec("COMMIT");
  }
  bool ok() const { return ok_; }

 private:
  Db& db_;
  bool ok_ = false;
};

}  // namespace

void SqliteStore::set_change_listener(ChangeListener listener) {
  std::lock_guard l(listener_mu_);
  listener_ = std::move(listener);
}

Result<void> SqliteStore::batch(const std::function<void()>& body) {
  std::vector<std::pair<AccountId, MailboxId>> notices;
  {
    std::lock_guard lock(write_mu_);
    struct Unpins {  // after the commit or the rollback, whichever ends the batch
      SqliteStore* s;
      ~Unpins() {
        std::vector<std::string> ids;
        ids.swap(s->deferred_unpins_);
        s->unpin_ids(ids);
      }
    } unpins{this};
    auto tx = Tx::begin(writer_);
    TRY(tx);
    ++batch_depth_;
    struct Depth {
      int& d;
      ~Depth() { --d; }
    } depth{batch_depth_};
    try {
      body();
    } catch (...) {
      deferred_.clear();  // rolled back: nothing to tell
      throw;
    }
    auto r = commit_writer(*tx);
    notices.swap(deferred_);
    if (!r) return r;
  }
  std::sort(notices.begin(), notices.end());
  notices.erase(std::unique(notices.begin(), notices.end()), notices.end());
  for (auto [a, m] : notices) notify(a, m);
  return {};
}

void SqliteStore::notify(AccountId account, MailboxId mailbox) {
  {
    std::unique_lock lock(write_mu_, std::try_to_lock);
    // Inside a batch on this thread: the notice waits for the commit.
    if (lock.owns_lock() && batch_depth_ > 0) {
      deferred_.emplace_back(account, mailbox);
      return;
    }
  }
  ChangeListener l;
  {
    std::lock_guard g(listener_mu_);
    l = listener_;
  }
  if (l) l(account, mailbox);
}

Result<MailboxChanges> SqliteStore::changes_since(MailboxId mailbox, std::uint64_t since, bool want_expunged) {
  auto rd = reader();
  TRY(rd);
  ReadTx tx(rd->db());
  if (!tx.ok()) return fail(Errc::Temporary, "cannot start a read transaction");
  MailboxChanges out;
  {
    auto st = rd->db().cached("SELECT " + kMailboxCols + " FROM mailboxes b WHERE b.id = ?");
    TRY(st);
    st->bind(1, mailbox);
    auto row = st->step();
    TRY(row);
    if (!*row || st->i64(9) != 0) return fail(Errc::NotFound, "mailbox no longer exists");
    out.mailbox = mailbox_from(*st);
  }
  auto msgs = rd->db().cached(
      fmt::format("SELECT {} FROM messages m WHERE m.mailbox_id = ? AND m.modseq > ? ORDER BY m.uid", kMessageCols));
  TRY(msgs);
  msgs->bind(1, mailbox).bind(2, static_cast<std::int64_t>(since));
  auto list = collect(*msgs, message_from);
  TRY(list);
  out.messages = std::move(*list);
  if (want_expunged) {
    auto gone = rd->db().cached("SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid");
    TRY(gone);
    gone->bind(1, mailbox).bind(2, static_cast<std::int64_t>(since));
    auto uids = collect(*gone, [](const Stmt& r) { return static_cast<std::uint32_t>(r.i64(0)); });
    TRY(uids);
    out.expunged = std::move(*uids);
  }
  return out;
}

Result<FlagResult> SqliteStore::store_flags(MailboxId mailbox, std::span<const std::uint32_t> uids, FlagOp op,
                                            std::string_view flags, std::optional<std::uint64_t> unchanged_since) {
  auto given = split_flags(flags);
  FlagResult out;
  AccountId account = 0;
  bool any = false;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto mb = writer_.cached("SELECT account_id, highest_modseq FROM mailboxes WHERE id = ?");
    TRY(mb);
    mb->bind(1, mailbox);
    auto row = mb->step();
    TRY(row);
    if (!*row) return fail(Errc::NotFound, "mailbox no longer exists");
    account = mb->i64(0);
    // RFC 7162 §3.1.3: every message this command changes gets the same new MODSEQ.
    auto next_modseq = static_cast<std::uint64_t>(mb->i64(1)) + 1;
    mb->reset();
    auto get = writer_.cached("SELECT modseq, flags FROM messages WHERE mailbox_id = ? AND uid = ?");
    TRY(get);
    auto put = writer_.cached("UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?");
    TRY(put);
    for (auto uid : uids) {
      get->reset();
      get->bind(1, mailbox).bind(2, static_cast<std::int64_t>(uid));
      auto found = get->step();
      TRY(found);
      if (!*found) continue;
      FlagChange c{uid, get->str(1), static_cast<std::uint64_t>(get->i64(0)), false};
      get->reset();
      if (unchanged_since && c.modseq > *unchanged_since) {
        out.modified.push_back(uid);
        continue;
      }
      auto after = apply_flags(c.flags, op, given);
      if (after != c.flags) {
        put->reset();
        TRY(put->bind(1, after).bind(2, static_cast<std::int64_t>(next_modseq)).bind(3, mailbox)
                .bind(4, static_cast<std::int64_t>(uid)).run());
        c.flags = std::move(after);
        c.modseq = next_modseq;
        c.changed = any = true;
      }
      out.messages.push_back(std::move(c));
    }
    out.highest_modseq = next_modseq - 1;
    if (any) {
      TRY(exec_bound("UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ?", mailbox));
      out.highest_modseq = next_modseq;
    }
    TRY(commit_writer(*tx));
  }
  if (any) notify(account, mailbox);
  return out;
}

Result<CopyOutcome> SqliteStore::copy_messages(MailboxId from, std::span<const std::uint32_t> uids, MailboxId to,
                                               bool move) {
  std::vector<std::uint32_t> sorted(uids.begin(), uids.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  CopyOutcome out;
  AccountId account = 0;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto mb = writer_.cached("SELECT account_id, noselect, uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?");
    TRY(mb);
    mb->bind(1, from);
    auto row = mb->step();
    TRY(row);
    if (!*row) return fail(Errc::NotFound, "the source mailbox no longer exists");
    account = mb->i64(0);
    mb->reset();
    mb->bind(1, to);
    row = mb->step();
    TRY(row);
    if (!*row || mb->i64(1) != 0) return fail(Errc::NotFound, "no such destination mailbox");
    if (mb->i64(0) != account) return fail(Errc::Permission, "mailboxes of another account");
    out.uidvalidity = static_cast<std::uint32_t>(mb->i64(2));
    auto uid = static_cast<std::uint32_t>(mb->i64(3));
    auto modseq = mb->i64(4) + 1;
    mb->reset();
    auto get = writer_.cached("SELECT size FROM messages WHERE mailbox_id = ? AND uid = ?");
    TRY(get);
    std::uint64_t bytes = 0;
    std::vector<std::uint32_t> present;
    for (auto u : sorted) {
      get->reset();
      get->bind(1, from).bind(2, static_cast<std::int64_t>(u));
      auto found = get->step();
      TRY(found);
      if (!*found) continue;
      bytes += static_cast<std::uint64_t>(get->i64(0));
      present.push_back(u);
    }
    get->reset();
    if (!move) {  // RFC 9208 §4.3: a copy that does not fit stores nothing
      auto fits = fits_quota(account, bytes, present.size());
      TRY(fits);
      if (!*fits) return fail(Errc::Quota, "the copies do not fit");
    }
    if (uid > 0xffffffffu - present.size()) return fail(Errc::Limit, "the destination has run out of UIDs");
    auto ins = writer_.cached(
        "INSERT INTO messages(mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix, trace_id) "
        "SELECT ?, ?, ?, flags, internal_date, size, blob_id, prefix, trace_id FROM messages "
        "WHERE mailbox_id = ? AND uid = ? RETURNING size, blob_id");
    TRY(ins);
    auto refs = writer_.cached("UPDATE blobs SET refs = refs + 1 WHERE id = ?");
    TRY(refs);
    for (auto u : present) {
      ins->reset();
      ins->bind(1, to).bind(2, static_cast<std::int64_t>(uid)).bind(3, modseq).bind(4, from)
          .bind(5, static_cast<std::int64_t>(u));
      auto r = ins->step();
      TRY(r);
      auto blob = ins->str(1);
      ins->reset();
      refs->reset();
      TRY(refs->bind(1, blob).run());
      out.uids.emplace_back(u, uid++);
    }
    auto upd = writer_.cached("UPDATE mailboxes SET uidnext = ?, highest_modseq = ?, messages = messages + ? WHERE id = ?");
    TRY(upd);
    TRY(upd->bind(1, static_cast<std::int64_t>(uid)).bind(2, modseq).bind(3, static_cast<std::int64_t>(present.size()))
            .bind(4, to).run());
    auto usage = writer_.cached("UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?");
    TRY(usage);
    TRY(usage->bind(1, static_cast<std::int64_t>(bytes)).bind(2, static_cast<std::int64_t>(present.size()))
            .bind(3, account).run());
    if (move)  // RFC 6851 §3.3: the originals are expunged in the same atomic step
      for (auto u : present) TRY(remove_message(from, u, true));
    TRY(commit_writer(*tx));
  }
  if (!out.uids.empty()) {
    notify(account, to);
    if (move) notify(account, from);
  }
  return out;
}

Result<std::vector<std::uint32_t>> SqliteStore::expunge_deleted(MailboxId mailbox,
                                                                std::optional<std::span<const std::uint32_t>> uids) {
  std::unordered_set<std::uint32_t> within;
  if (uids) within.insert(uids->begin(), uids->end());
  std::vector<std::uint32_t> removed;
  AccountId account = 0;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto st = writer_.cached(
        "SELECT uid FROM messages INDEXED BY messages_deleted "
        "WHERE mailbox_id = ? AND ' ' || flags || ' ' LIKE '% \\Deleted %' ORDER BY uid");
    TRY(st);
    st->bind(1, mailbox);
    auto all = collect(*st, [](const Stmt& r) { return static_cast<std::uint32_t>(r.i64(0)); });
    TRY(all);
    for (auto uid : *all) {
      if (uids && !within.count(uid)) continue;
      TRY(remove_message(mailbox, uid, true));
      removed.push_back(uid);
    }
    auto owner = mailbox_owner(mailbox);
    TRY(owner);
    account = *owner;
    TRY(commit_writer(*tx));
  }
  if (!removed.empty()) notify(account, mailbox);
  return removed;
}

Result<std::vector<std::string>> SqliteStore::message_meta(MailboxId mailbox, std::span<const std::uint32_t> uids) {
  std::vector<std::string> out(uids.size());
  if (uids.empty()) return out;
  auto rd = reader();
  TRY(rd);
  ReadTx tx(rd->db());
  auto [lo, hi] = std::minmax_element(uids.begin(), uids.end());
  // Dense sets (FETCH 1:* ENVELOPE, SEARCH over the mailbox): one range scan; sparse
  // ones: a lookup each.
  if (uids.size() * 4 >= static_cast<std::size_t>(*hi - *lo) + 1) {
    std::unordered_map<std::uint32_t, std::size_t> where;
    for (std::size_t i = 0; i < uids.size(); ++i) where.emplace(uids[i], i);
    auto st = rd->db().cached(
        "SELECT m.uid, b.meta FROM messages m JOIN blobs b ON b.id = m.blob_id "
        "WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?");
    TRY(st);
    st->bind(1, mailbox).bind(2, static_cast<std::int64_t>(*lo)).bind(3, static_cast<std::int64_t>(*hi));
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto it = where.find(static_cast<std::uint32_t>(st->i64(0)));
      if (it != where.end() && !st->is_null(1)) out[it->second] = st->str(1);
    }
    return out;
  }
  auto st = rd->db().cached(
      "SELECT b.meta FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = ? AND m.uid = ?");
  TRY(st);
  for (std::size_t i = 0; i < uids.size(); ++i) {
    st->reset();
    st->bind(1, mailbox).bind(2, static_cast<std::int64_t>(uids[i]));
    auto row = st->step();
    TRY(row);
    if (*row && !st->is_null(0)) out[i] = st->str(0);
  }
  st->reset();
  return out;
}

// Cache writes commit without the WAL fsync (synchronous=NORMAL): losing one in a
// crash costs a recomputation, never mail. The next synced commit makes them durable
// anyway.
Result<void> SqliteStore::set_message_meta(MailboxId mailbox, std::uint32_t uid, std::string_view meta) {
  std::lock_guard lock(write_mu_);
  TRY(writer_.exec("PRAGMA synchronous=NORMAL"));
  auto st = writer_.cached("UPDATE blobs SET meta = ? WHERE id = (SELECT blob_id FROM messages WHERE mailbox_id = ? AND uid = ?)");
  Result<void> r = st ? st->bind_blob(1, meta).bind(2, mailbox).bind(3, static_cast<std::int64_t>(uid)).run()
                      : Result<void>(tl::unexpected(st.error()));
  TRY(writer_.exec("PRAGMA synchronous=FULL"));
  return r;
}

// The first UID not yet recent to any session: the larger of what is stored and what
// is claimed but not written yet. recent_mu_ makes claims one at a time, so each UID
// goes to exactly one session; a claim lost in a crash shows those messages as recent
// once more, which RFC 3501 allows (no session saw them as recent since the restart).
Result<std::uint32_t> SqliteStore::claim_recent(MailboxId mailbox) {
  std::lock_guard lock(recent_mu_);
  auto rd = reader();
  TRY(rd);
  auto get = rd->db().cached("SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?");
  TRY(get);
  get->bind(1, mailbox);
  auto row = get->step();
  TRY(row);
  if (!*row) return fail(Errc::NotFound, "mailbox no longer exists");
  auto first = static_cast<std::uint32_t>(get->i64(0));
  auto next = static_cast<std::uint32_t>(get->i64(1));
  get->reset();
  if (auto it = recent_claims_.find(mailbox); it != recent_claims_.end()) first = std::max(first, it->second);
  if (first >= next) return first;
  recent_claims_[mailbox] = next;
  return first;
}

std::uint32_t SqliteStore::recent_claimed(MailboxId mailbox) {
  std::lock_guard lock(recent_mu_);
  auto it = recent_claims_.find(mailbox);
  return it == recent_claims_.end() ? 0 : it->second;
}

SqliteStore::RecentClaims SqliteStore::write_recent_claims() {
  RecentClaims claims;
  {
    std::lock_guard lock(recent_mu_);
    claims.assign(recent_claims_.begin(), recent_claims_.end());
  }
  if (claims.empty()) return claims;
  // max(): never back (an older claim, or one written before).
  auto st = writer_.cached("UPDATE mailboxes SET recent_uid = max(recent_uid, ?) WHERE id = ?");
  if (!st) return {};
  for (auto [mailbox, uid] : claims) {
    st->reset();
    if (!st->bind(1, static_cast<std::int64_t>(uid)).bind(2, mailbox).run()) return {};  // kept for the next commit
  }
  return claims;
}

void SqliteStore::forget_recent_claims(const RecentClaims& written) {
  if (written.empty()) return;
  std::lock_guard lock(recent_mu_);
  for (auto [mailbox, uid] : written)
    if (auto it = recent_claims_.find(mailbox); it != recent_claims_.end() && it->second == uid) recent_claims_.erase(it);
}

}  // namespace valija::store::sqlite
