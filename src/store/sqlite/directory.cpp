// Domains, accounts and aliases (the directory) of the SQLite engine.
#include <fmt/format.h>

#include <array>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {

namespace {

struct DefaultMailbox {
  std::string_view name;
  std::string_view special_use;
};
// RFC 6154 special-use mailboxes every account starts with.
constexpr std::array<DefaultMailbox, 6> kDefaultMailboxes{{
    {"INBOX", ""}, {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
}};

Account account_from(const Stmt& st) {
  Account a;
  a.id = st.i64(0);
  a.local = st.str(1);
  a.domain = st.str(2);
  a.password_hash = st.str(3);
  a.quota_bytes = static_cast<std::uint64_t>(st.i64(4));
  a.quota_messages = static_cast<std::uint64_t>(st.i64(5));
  a.used_bytes = static_cast<std::uint64_t>(st.i64(6));
  a.used_messages = static_cast<std::uint64_t>(st.i64(7));
  a.created = st.i64(8);
  a.apop_secret = st.str(9);
  a.scram_sha1 = st.str(10);
  a.scram_sha256 = st.str(11);
  return a;
}

constexpr std::string_view kAccountCols =
    "a.id, a.local, d.name, a.password_hash, a.quota_bytes, a.quota_messages, a.used_bytes, "
    "a.used_messages, a.created, coalesce(a.apop_secret, ''), coalesce(a.scram_sha1, ''), "
    "coalesce(a.scram_sha256, '') FROM accounts a JOIN domains d ON d.id = a.domain_id ";

}  // namespace

// ---------------- directory ----------------
Result<Domain> SqliteStore::add_domain(std::string_view name) {
  std::lock_guard lock(write_mu_);
  auto n = text::to_lower(name);
  auto st = writer_.cached("INSERT INTO domains(name, created) VALUES(?, ?)");
  TRY(st);
  auto now = clock::now_unix();
  auto r = st->bind(1, n).bind(2, now).run();
  if (!r) {
    if (r.error().code == Errc::Exists) return fail(Errc::Exists, fmt::format("domain {} already exists", n));
    return tl::unexpected(r.error());
  }
  return Domain{writer_.last_insert_id(), n, now};
}

Result<std::vector<Domain>> SqliteStore::list_domains() {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached("SELECT id, name, created FROM domains ORDER BY name");
  TRY(st);
  return collect(*st, [](const Stmt& r) { return Domain{r.i64(0), r.str(1), r.i64(2)}; });
}

Result<std::optional<Domain>> SqliteStore::find_domain(std::string_view name) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached("SELECT id, name, created FROM domains WHERE name = ?");
  TRY(st);
  st->bind(1, text::to_lower(name));
  auto row = st->step();
  TRY(row);
  if (!*row) return std::optional<Domain>{};
  return std::optional<Domain>(Domain{st->i64(0), st->str(1), st->i64(2)});
}

Result<void> SqliteStore::remove_domain(std::string_view name, bool force) {
  std::lock_guard lock(write_mu_);
  auto n = text::to_lower(name);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto id = domain_id(writer_, n);
  TRY(id);
  auto st = writer_.cached(
      "SELECT (SELECT count(*) FROM accounts WHERE domain_id = ?1), "
      "(SELECT count(*) FROM aliases WHERE domain_id = ?1)");
  TRY(st);
  st->bind(1, *id);
  TRY(st->step());
  auto accounts = st->i64(0), aliases = st->i64(1);
  if ((accounts || aliases) && !force)
    return fail(Errc::Exists, fmt::format("domain {} still has {} accounts and {} aliases (use --force to remove them too)",
                                          n, accounts, aliases));
  auto acc = writer_.cached("SELECT id FROM accounts WHERE domain_id = ?");
  TRY(acc);
  acc->bind(1, *id);
  std::vector<AccountId> ids;
  while (true) {
    auto row = acc->step();
    TRY(row);
    if (!*row) break;
    ids.push_back(acc->i64(0));
  }
  for (auto a : ids) TRY(delete_account_rows(a));
  TRY(exec_bound("DELETE FROM aliases WHERE domain_id = ?", *id));
  TRY(exec_bound("DELETE FROM domains WHERE id = ?", *id));
  return commit_writer(*tx);
}

Result<Account> SqliteStore::add_account(std::string_view local, std::string_view domain, std::string_view hash, std::uint64_t quota_bytes) {
  std::lock_guard lock(write_mu_);
  auto l = text::to_lower(local);
  auto d = text::to_lower(domain);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto did = domain_id(writer_, d);
  TRY(did);
  {
    auto st = writer_.cached("SELECT 1 FROM aliases WHERE domain_id = ? AND local = ?");
    TRY(st);
    st->bind(1, *did).bind(2, l);
    auto row = st->step();
    TRY(row);
    if (*row) return fail(Errc::Exists, fmt::format("{}@{} is already an alias", l, d));
  }
  auto now = clock::now_unix();
  auto st = writer_.cached(
      "INSERT INTO accounts(domain_id, local, password_hash, quota_bytes, created) VALUES(?, ?, ?, ?, ?)");
  TRY(st);
  auto r = st->bind(1, *did).bind(2, l).bind(3, hash).bind(4, static_cast<std::int64_t>(quota_bytes)).bind(5, now).run();
  if (!r) {
    if (r.error().code == Errc::Exists) return fail(Errc::Exists, fmt::format("account {}@{} already exists", l, d));
    return tl::unexpected(r.error());
  }
  AccountId id = writer_.last_insert_id();
  auto sub = writer_.cached("INSERT INTO subscriptions(account_id, name) VALUES(?, ?)");
  TRY(sub);
  for (const auto& m : kDefaultMailboxes) {
    TRY(insert_mailbox(id, m.name, m.special_use, false));
    sub->reset();
    TRY(sub->bind(1, id).bind(2, m.name).run());
  }
  TRY(commit_writer(*tx));
  Account a;
  a.id = id;
  a.local = l;
  a.domain = d;
  a.password_hash = std::string(hash);
  a.quota_bytes = quota_bytes;
  a.created = now;
  return a;
}

Result<std::optional<Account>> SqliteStore::find_account(std::string_view local, std::string_view domain) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(fmt::format("SELECT {} WHERE d.name = ? AND a.local = ?", kAccountCols));
  TRY(st);
  st->bind(1, text::to_lower(domain)).bind(2, text::to_lower(local));
  auto row = st->step();
  TRY(row);
  if (!*row) return std::optional<Account>{};
  return std::optional<Account>(account_from(*st));
}

Result<std::vector<Account>> SqliteStore::list_accounts(std::optional<std::string_view> domain) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(fmt::format("SELECT {} {} ORDER BY d.name, a.local", kAccountCols,
                                         domain ? "WHERE d.name = ?" : ""));
  TRY(st);
  if (domain) st->bind(1, text::to_lower(*domain));
  return collect(*st, account_from);
}

Result<void> SqliteStore::set_password(std::string_view local, std::string_view domain, std::string_view hash) {
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(
      "UPDATE accounts SET password_hash = ?, scram_sha1 = NULL, scram_sha256 = NULL "
      "WHERE local = ? AND domain_id = (SELECT id FROM domains WHERE name = ?)");
  TRY(st);
  TRY(st->bind(1, hash).bind(2, text::to_lower(local)).bind(3, text::to_lower(domain)).run());
  if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
  return {};
}

Result<void> SqliteStore::set_scram(std::string_view local, std::string_view domain, std::string_view sha1,
                                    std::string_view sha256) {
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(
      "UPDATE accounts SET scram_sha1 = nullif(?, ''), scram_sha256 = nullif(?, '') WHERE local = ? AND domain_id = "
      "(SELECT id FROM domains WHERE name = ?)");
  TRY(st);
  TRY(st->bind(1, sha1).bind(2, sha256).bind(3, text::to_lower(local)).bind(4, text::to_lower(domain)).run());
  if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
  return {};
}

Result<void> SqliteStore::set_apop_secret(std::string_view local, std::string_view domain, std::string_view secret) {
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(
      "UPDATE accounts SET apop_secret = nullif(?, '') WHERE local = ? AND domain_id = "
      "(SELECT id FROM domains WHERE name = ?)");
  TRY(st);
  TRY(st->bind(1, secret).bind(2, text::to_lower(local)).bind(3, text::to_lower(domain)).run());
  if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
  return {};
}

Result<void> SqliteStore::set_quota(std::string_view local, std::string_view domain, std::uint64_t bytes, std::uint64_t messages) {
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(
      "UPDATE accounts SET quota_bytes = ?, quota_messages = ? WHERE local = ? AND "
      "domain_id = (SELECT id FROM domains WHERE name = ?)");
  TRY(st);
  TRY(st->bind(1, static_cast<std::int64_t>(bytes)).bind(2, static_cast<std::int64_t>(messages))
          .bind(3, text::to_lower(local)).bind(4, text::to_lower(domain)).run());
  if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
  return {};
}

Result<void> SqliteStore::remove_account(std::string_view local, std::string_view domain) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto st = writer_.cached(
      "SELECT a.id FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? AND a.local = ?");
  TRY(st);
  st->bind(1, text::to_lower(domain)).bind(2, text::to_lower(local));
  auto row = st->step();
  TRY(row);
  if (!*row) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
  TRY(delete_account_rows(st->i64(0)));
  return commit_writer(*tx);
}

Result<void> SqliteStore::add_alias(std::string_view local, std::string_view domain, std::span<const std::string> targets) {
  std::lock_guard lock(write_mu_);
  auto l = text::to_lower(local);
  auto d = text::to_lower(domain);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto did = domain_id(writer_, d);
  TRY(did);
  if (!l.empty()) {
    auto st = writer_.cached("SELECT 1 FROM accounts WHERE domain_id = ? AND local = ?");
    TRY(st);
    st->bind(1, *did).bind(2, l);
    auto row = st->step();
    TRY(row);
    if (*row) return fail(Errc::Exists, fmt::format("{}@{} is an account, not an alias", l, d));
  }
  auto ins = writer_.cached("INSERT INTO aliases(domain_id, local) VALUES(?, ?) ON CONFLICT DO NOTHING");
  TRY(ins);
  TRY(ins->bind(1, *did).bind(2, l).run());
  auto sel = writer_.cached("SELECT id FROM aliases WHERE domain_id = ? AND local = ?");
  TRY(sel);
  sel->bind(1, *did).bind(2, l);
  TRY(sel->step());
  auto alias_id = sel->i64(0);
  auto tgt = writer_.cached("INSERT INTO alias_targets(alias_id, target) VALUES(?, ?) ON CONFLICT DO NOTHING");
  TRY(tgt);
  for (const auto& t : targets) {
    tgt->reset();
    TRY(tgt->bind(1, alias_id).bind(2, text::to_lower(t)).run());
  }
  return commit_writer(*tx);
}

Result<std::optional<Alias>> SqliteStore::find_alias(std::string_view local, std::string_view domain) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(
      "SELECT t.target FROM aliases a JOIN domains d ON d.id = a.domain_id "
      "JOIN alias_targets t ON t.alias_id = a.id WHERE d.name = ? AND a.local = ? ORDER BY t.target");
  TRY(st);
  st->bind(1, text::to_lower(domain)).bind(2, text::to_lower(local));
  Alias a{text::to_lower(local), text::to_lower(domain), {}};
  while (true) {
    auto row = st->step();
    TRY(row);
    if (!*row) break;
    a.targets.push_back(st->str(0));
  }
  if (a.targets.empty()) return std::optional<Alias>{};
  return std::optional<Alias>(std::move(a));
}

Result<std::vector<Alias>> SqliteStore::list_aliases(std::optional<std::string_view> domain) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(fmt::format(
      "SELECT a.local, d.name, t.target FROM aliases a JOIN domains d ON d.id = a.domain_id "
      "JOIN alias_targets t ON t.alias_id = a.id {} ORDER BY d.name, a.local, t.target",
      domain ? "WHERE d.name = ?" : ""));
  TRY(st);
  if (domain) st->bind(1, text::to_lower(*domain));
  std::vector<Alias> out;
  while (true) {
    auto row = st->step();
    TRY(row);
    if (!*row) break;
    auto l = st->str(0), d = st->str(1);
    if (out.empty() || out.back().local != l || out.back().domain != d) out.push_back(Alias{l, d, {}});
    out.back().targets.push_back(st->str(2));
  }
  return out;
}

Result<void> SqliteStore::remove_alias(std::string_view local, std::string_view domain, std::string_view target) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto st = writer_.cached(
      "SELECT a.id FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? AND a.local = ?");
  TRY(st);
  st->bind(1, text::to_lower(domain)).bind(2, text::to_lower(local));
  auto row = st->step();
  TRY(row);
  if (!*row) return fail(Errc::NotFound, fmt::format("no alias {}@{}", local, domain));
  auto id = st->i64(0);
  if (!target.empty()) {
    auto del = writer_.cached("DELETE FROM alias_targets WHERE alias_id = ? AND target = ?");
    TRY(del);
    TRY(del->bind(1, id).bind(2, text::to_lower(target)).run());
    if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("alias has no target {}", target));
    TRY(exec_bound("DELETE FROM aliases WHERE id = ? AND NOT EXISTS (SELECT 1 FROM alias_targets WHERE alias_id = aliases.id)", id));
  } else {
    TRY(exec_bound("DELETE FROM alias_targets WHERE alias_id = ?", id));
    TRY(exec_bound("DELETE FROM aliases WHERE id = ?", id));
  }
  return commit_writer(*tx);
}

// RFC 9051 §2.3.1.1: a mailbox recreated under the same name must get a new, larger
// UIDVALIDITY. A persisted counter, at least the current time, never repeats a value
// even when an account is removed and re-added within the same second.
Result<std::int64_t> SqliteStore::next_uidvalidity() {
  auto st = writer_.cached(
      "INSERT INTO counters(name, value) VALUES('uidvalidity', ?1) ON CONFLICT(name) DO UPDATE "
      "SET value = max(value + 1, ?1) RETURNING value");
  TRY(st);
  st->bind(1, static_cast<std::int64_t>(static_cast<std::uint32_t>(clock::now_unix())));
  auto row = st->step();
  TRY(row);
  auto v = st->i64(0);
  st->reset();
  if (v > 0xffffffffLL) return fail(Errc::Limit, "UIDVALIDITY space exhausted");
  return v;
}

Result<std::int64_t> SqliteStore::domain_id(Db& db, const std::string& name) {
  auto st = db.prepare("SELECT id FROM domains WHERE name = ?");
  TRY(st);
  st->bind(1, name);
  auto row = st->step();
  TRY(row);
  if (!*row) return fail(Errc::NotFound, fmt::format("no domain {}", name));
  return st->i64(0);
}

Result<void> SqliteStore::exec_bound(std::string_view sql, std::int64_t v) {
  auto st = writer_.cached(sql);
  TRY(st);
  return st->bind(1, v).run();
}

// Inside the writer's transaction.
Result<void> SqliteStore::delete_account_rows(AccountId id) {
  // Release the blob references of every message, then the rows.
  TRY(exec_bound(
      "UPDATE blobs SET refs = refs - (SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
      "WHERE b.account_id = ?1 AND m.blob_id = blobs.id) WHERE id IN (SELECT m.blob_id FROM messages m "
      "JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?1)",
      id));
  TRY(exec_bound("DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)", id));
  TRY(exec_bound("DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)", id));
  TRY(exec_bound("DELETE FROM mailboxes WHERE account_id = ?", id));
  TRY(exec_bound("DELETE FROM subscriptions WHERE account_id = ?", id));
  TRY(exec_bound("DELETE FROM accounts WHERE id = ?", id));
  return {};
}

}  // namespace valija::store::sqlite
