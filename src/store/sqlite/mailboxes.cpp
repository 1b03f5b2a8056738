// IMAP mailbox management of the SQLite engine: create, delete, rename, subscriptions.
// Names arrive validated by the protocol layer (no empty or dot components); the store
// keeps "INBOX" in upper case and the hierarchy below a name as "name/...".
#include <fmt/format.h>

#include "base/text.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {
// RFC 9051 §5.1: INBOX is case-insensitive, also as the first component of a name.
std::string canonical(std::string_view name) {
  auto slash = name.find('/');
  auto first = name.substr(0, slash);
  if (!text::iequals(first, "INBOX")) return std::string(name);
  return "INBOX" + std::string(slash == std::string_view::npos ? std::string_view() : name.substr(slash));
}

namespace {

bool is_inbox(std::string_view name) { return name == "INBOX"; }

}  // namespace

Result<std::optional<MailboxInfo>> SqliteStore::writer_mailbox(AccountId account, std::string_view name) {
  auto st = writer_.cached("SELECT " + kMailboxCols + " FROM mailboxes b WHERE b.account_id = ? AND b.name = ?");
  TRY(st);
  st->bind(1, account).bind(2, name);
  auto row = st->step();
  TRY(row);
  std::optional<MailboxInfo> out;
  if (*row) out = mailbox_from(*st);
  st->reset();
  return out;
}

Result<MailboxInfo> SqliteStore::insert_mailbox(AccountId account, std::string_view name, std::string_view special_use,
                                                bool noselect) {
  auto uidvalidity = next_uidvalidity();
  TRY(uidvalidity);
  auto st = writer_.cached(
      "INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, noselect) VALUES(?, ?, ?, ?, ?)");
  TRY(st);
  auto r = st->bind(1, account).bind(2, name).bind(3, special_use).bind(4, *uidvalidity).bind(5, noselect ? 1 : 0).run();
  if (!r && r.error().code == Errc::Exists) return fail(Errc::Exists, fmt::format("mailbox {} already exists", name));
  TRY(r);
  MailboxInfo m;
  m.id = writer_.last_insert_id();
  m.account = account;
  m.name = std::string(name);
  m.special_use = std::string(special_use);
  m.uidvalidity = static_cast<std::uint32_t>(*uidvalidity);
  m.subscribed = false;
  m.noselect = noselect;
  return m;
}

// RFC 9051 §6.3.4: "the server SHOULD create any superior hierarchical names that are
// needed", as real mailboxes.
Result<void> SqliteStore::create_parents(AccountId account, std::string_view name) {
  for (auto slash = name.find('/'); slash != std::string_view::npos; slash = name.find('/', slash + 1)) {
    auto parent = name.substr(0, slash);
    auto found = writer_mailbox(account, parent);
    TRY(found);
    if (!*found) TRY(insert_mailbox(account, parent, "", false));
  }
  return {};
}

Result<MailboxInfo> SqliteStore::create_mailbox(AccountId account, std::string_view raw, std::string_view special_use) {
  auto name = canonical(raw);
  MailboxInfo out;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto found = writer_mailbox(account, name);
    TRY(found);
    if (*found && !(*found)->noselect) return fail(Errc::Exists, fmt::format("mailbox {} already exists", name));
    if (*found) {
      // A \Noselect name becomes a mailbox again; its old UIDs must never come back.
      auto uidvalidity = next_uidvalidity();
      TRY(uidvalidity);
      auto st = writer_.cached("UPDATE mailboxes SET noselect = 0, uidvalidity = ?, special_use = ? WHERE id = ?");
      TRY(st);
      TRY(st->bind(1, *uidvalidity).bind(2, special_use).bind(3, (*found)->id).run());
      out = **found;
      out.noselect = false;
      out.uidvalidity = static_cast<std::uint32_t>(*uidvalidity);
      out.special_use = std::string(special_use);
    } else {
      TRY(create_parents(account, name));
      auto m = insert_mailbox(account, name, special_use, false);
      TRY(m);
      out = std::move(*m);
    }
    TRY(commit_writer(*tx));
  }
  notify(account, 0);
  return out;
}

// Inside the writer's transaction: the messages go (blob references and usage
// released), and so does the expunge log, since the mailbox's UIDs will not be reused
// under this UIDVALIDITY.
Result<void> SqliteStore::drop_mailbox_messages(MailboxId mailbox) {
  TRY(exec_bound(
      "UPDATE blobs SET refs = refs - (SELECT count(*) FROM messages m WHERE m.mailbox_id = ?1 AND m.blob_id = blobs.id) "
      "WHERE id IN (SELECT blob_id FROM messages WHERE mailbox_id = ?1)",
      mailbox));
  TRY(exec_bound(
      "UPDATE accounts SET "
      "used_bytes = max(used_bytes - (SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = ?1), 0), "
      "used_messages = max(used_messages - (SELECT count(*) FROM messages WHERE mailbox_id = ?1), 0) "
      "WHERE id = (SELECT account_id FROM mailboxes WHERE id = ?1)",
      mailbox));
  TRY(exec_bound("DELETE FROM messages WHERE mailbox_id = ?", mailbox));
  TRY(exec_bound("DELETE FROM expunged WHERE mailbox_id = ?", mailbox));
  return {};
}

Result<void> SqliteStore::delete_mailbox(AccountId account, std::string_view raw) {
  auto name = canonical(raw);
  if (is_inbox(name)) return fail(Errc::Permission, "INBOX cannot be deleted");
  MailboxId id = 0;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto found = writer_mailbox(account, name);
    TRY(found);
    if (!*found) return fail(Errc::NotFound, fmt::format("no mailbox {}", name));
    id = (*found)->id;
    auto kids = writer_.cached(
        "SELECT 1 FROM mailboxes WHERE account_id = ? AND substr(name, 1, length(?2) + 1) = ?2 || '/' LIMIT 1");
    TRY(kids);
    kids->bind(1, account).bind(2, name);
    auto row = kids->step();
    TRY(row);
    bool has_children = *row;
    kids->reset();
    // RFC 3501 §6.3.4: a \Noselect mailbox with inferiors cannot be deleted.
    if (has_children && (*found)->noselect)
      return fail(Errc::Exists, fmt::format("{} has mailboxes below it", name));
    TRY(drop_mailbox_messages(id));
    if (has_children) {
      TRY(exec_bound("UPDATE mailboxes SET noselect = 1, messages = 0, special_use = '' WHERE id = ?", id));
    } else {
      TRY(exec_bound("DELETE FROM mailboxes WHERE id = ?", id));
    }
    TRY(commit_writer(*tx));
  }
  notify(account, id);
  notify(account, 0);
  return {};
}

Result<void> SqliteStore::rename_mailbox(AccountId account, std::string_view raw_from, std::string_view raw_to) {
  auto from = canonical(raw_from), to = canonical(raw_to);
  if (is_inbox(to)) return fail(Errc::Exists, "INBOX always exists");
  // INBOX may go below itself (its children stay where they are); others may not.
  if (to == from || (!is_inbox(from) && to.starts_with(from + "/")))
    return fail(Errc::Invalid, fmt::format("cannot rename {} into itself", from));
  MailboxId moved_from = 0;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto src = writer_mailbox(account, from);
    TRY(src);
    if (!*src) return fail(Errc::NotFound, fmt::format("no mailbox {}", from));
    auto dst = writer_mailbox(account, to);
    TRY(dst);
    if (*dst) return fail(Errc::Exists, fmt::format("mailbox {} already exists", to));
    TRY(create_parents(account, to));
    if (is_inbox(from)) {
      // RFC 3501 §6.3.5: INBOX's messages move to the new mailbox; INBOX stays, empty,
      // and its sessions see them expunged.
      auto fresh = insert_mailbox(account, to, "", false);
      TRY(fresh);
      moved_from = (*src)->id;
      auto modseq = (*src)->highest_modseq + 1;
      auto log = writer_.cached(
          "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) SELECT mailbox_id, uid, ? FROM messages "
          "WHERE mailbox_id = ?");
      TRY(log);
      TRY(log->bind(1, static_cast<std::int64_t>(modseq)).bind(2, moved_from).run());
      auto move = writer_.cached("UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?");
      TRY(move);
      TRY(move->bind(1, fresh->id).bind(2, moved_from).run());
      auto counts = writer_.cached(
          "UPDATE mailboxes SET uidnext = ?, highest_modseq = ?, messages = ? WHERE id = ?");
      TRY(counts);
      TRY(counts->bind(1, (*src)->uidnext).bind(2, static_cast<std::int64_t>(modseq))
              .bind(3, (*src)->messages).bind(4, fresh->id).run());
      auto empty = writer_.cached("UPDATE mailboxes SET messages = 0, highest_modseq = ? WHERE id = ?");
      TRY(empty);
      TRY(empty->bind(1, static_cast<std::int64_t>(modseq)).bind(2, moved_from).run());
    } else {
      // The mailbox and everything below it; subscriptions follow their mailboxes.
      for (std::string_view table : {"mailboxes", "subscriptions"}) {
        auto st = writer_.cached(fmt::format(
            "UPDATE {} SET name = ?1 || substr(name, length(?2) + 1) WHERE account_id = ?3 AND "
            "(name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')",
            table));
        TRY(st);
        auto r = st->bind(1, to).bind(2, from).bind(3, account).run();
        if (!r && r.error().code == Errc::Exists) return fail(Errc::Exists, fmt::format("a mailbox below {} exists", to));
        TRY(r);
      }
    }
    TRY(commit_writer(*tx));
  }
  if (moved_from) notify(account, moved_from);
  notify(account, 0);
  return {};
}

Result<void> SqliteStore::set_subscribed(AccountId account, std::string_view raw, bool subscribed) {
  auto name = canonical(raw);
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(subscribed ? "INSERT INTO subscriptions(account_id, name) VALUES(?, ?) ON CONFLICT DO NOTHING"
                                      : "DELETE FROM subscriptions WHERE account_id = ? AND name = ?");
  TRY(st);
  return st->bind(1, account).bind(2, name).run();
}

Result<std::vector<std::string>> SqliteStore::list_subscriptions(AccountId account) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached("SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name");
  TRY(st);
  st->bind(1, account);
  return collect(*st, [](const Stmt& r) { return r.str(0); });
}

Result<MailboxCounts> SqliteStore::count_messages(MailboxId mailbox) {
  auto rd = reader();
  TRY(rd);
  // Flags are stored normalised (system flags in their canonical case, one space apart).
  auto st = rd->db().cached(
      "SELECT count(*), coalesce(sum(' ' || flags || ' ' NOT LIKE '% \\Seen %'), 0), "
      "coalesce(sum(' ' || flags || ' ' LIKE '% \\Deleted %'), 0), coalesce(sum(size), 0), "
      "coalesce(sum(uid >= max((SELECT recent_uid FROM mailboxes WHERE id = ?1), ?2)), 0) "
      "FROM messages WHERE mailbox_id = ?1");
  TRY(st);
  st->bind(1, mailbox).bind(2, static_cast<std::int64_t>(recent_claimed(mailbox)));
  TRY(st->step());
  MailboxCounts c;
  c.messages = static_cast<std::uint32_t>(st->i64(0));
  c.unseen = static_cast<std::uint32_t>(st->i64(1));
  c.deleted = static_cast<std::uint32_t>(st->i64(2));
  c.size = static_cast<std::uint64_t>(st->i64(3));
  c.recent = static_cast<std::uint32_t>(st->i64(4));
  st->reset();
  return c;
}

}  // namespace valija::store::sqlite
