#include "store/sqlite/schema.hpp"

#include <fmt/format.h>

#include <array>

namespace valija::store::sqlite {
namespace {

// Never edit a released migration: add a new one.
constexpr std::array<std::string_view, 8> kMigrations{
    // 0 -> 1: directory, mailboxes, messages, blobs, expunge log.
    R"sql(
CREATE TABLE domains(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL);
CREATE TABLE accounts(
  id INTEGER PRIMARY KEY,
  domain_id INTEGER NOT NULL REFERENCES domains(id),
  local TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  quota_bytes INTEGER NOT NULL DEFAULT 0,
  quota_messages INTEGER NOT NULL DEFAULT 0,
  used_bytes INTEGER NOT NULL DEFAULT 0,
  used_messages INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  UNIQUE(domain_id, local));
CREATE TABLE aliases(
  id INTEGER PRIMARY KEY,
  domain_id INTEGER NOT NULL REFERENCES domains(id),
  local TEXT NOT NULL,
  UNIQUE(domain_id, local));
CREATE TABLE alias_targets(
  alias_id INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  PRIMARY KEY(alias_id, target));
CREATE TABLE mailboxes(
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  special_use TEXT NOT NULL DEFAULT '',
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL DEFAULT 1,
  highest_modseq INTEGER NOT NULL DEFAULT 1,
  messages INTEGER NOT NULL DEFAULT 0,
  subscribed INTEGER NOT NULL DEFAULT 1,
  UNIQUE(account_id, name));
CREATE TABLE blobs(
  id TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  refs INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX blobs_unreferenced ON blobs(refs) WHERE refs = 0;
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  flags TEXT NOT NULL DEFAULT '',
  internal_date INTEGER NOT NULL,
  size INTEGER NOT NULL,
  blob_id TEXT NOT NULL REFERENCES blobs(id),
  prefix BLOB NOT NULL,
  trace_id TEXT NOT NULL,
  UNIQUE(mailbox_id, uid));
CREATE TABLE counters(
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE expunged(
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
)sql",
    // 1 -> 2: small bodies live in pack files (store/blob/pack_files.hpp). A blob with
    // pack_id NULL is a file of its own, blobs/<2 hex>/<id>, as every blob of version 1.
    R"sql(
ALTER TABLE blobs ADD COLUMN pack_id INTEGER;
ALTER TABLE blobs ADD COLUMN pack_offset INTEGER;
CREATE INDEX blobs_by_pack ON blobs(pack_id) WHERE pack_id IS NOT NULL;
CREATE TABLE packs(
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  live INTEGER NOT NULL);
)sql",
    // 2 -> 3: the optional APOP secret (RFC 1939 §7 needs it in the clear; set only by
    // an admin who enables APOP for an account).
    R"sql(
ALTER TABLE accounts ADD COLUMN apop_secret TEXT;
)sql",
    // 3 -> 4: IMAP. Subscriptions are names of their own (RFC 9051 §6.3.7: one may name
    // no mailbox); \Noselect parents (RFC 3501 §6.3.4); the first UID not yet shown as
    // \Recent; the cached MIME structure of each body; indexes for changes since a MODSEQ.
    R"sql(
CREATE TABLE subscriptions(
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  PRIMARY KEY(account_id, name)) WITHOUT ROWID;
INSERT INTO subscriptions(account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed = 1;
ALTER TABLE mailboxes DROP COLUMN subscribed;
ALTER TABLE mailboxes ADD COLUMN noselect INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;
ALTER TABLE blobs ADD COLUMN meta BLOB;
CREATE INDEX messages_by_modseq ON messages(mailbox_id, modseq);
CREATE INDEX expunged_by_modseq ON expunged(mailbox_id, modseq);
)sql",
    // 4 -> 5: the outbound queue. An entry holds one reference to its body (the blob
    // shared with local copies) and the envelope; each recipient its own state, so one
    // entry serves several destinations and retries only what is still pending.
    R"sql(
CREATE TABLE queue(
  id INTEGER PRIMARY KEY,
  blob_id TEXT NOT NULL REFERENCES blobs(id),
  prefix BLOB NOT NULL,
  size INTEGER NOT NULL,
  sender TEXT NOT NULL,
  created INTEGER NOT NULL,
  trace_id TEXT NOT NULL,
  envid TEXT NOT NULL DEFAULT '',
  ret INTEGER NOT NULL DEFAULT 0,
  smtputf8 INTEGER NOT NULL DEFAULT 0,
  eight_bit INTEGER NOT NULL DEFAULT 0,  -- 1: BODY=8BITMIME, 2: BODY=BINARYMIME
  requiretls INTEGER NOT NULL DEFAULT 0,
  origin TEXT NOT NULL DEFAULT '',
  warned INTEGER NOT NULL DEFAULT 0);
CREATE TABLE queue_rcpts(
  id INTEGER PRIMARY KEY,
  queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  domain TEXT NOT NULL,
  orcpt TEXT NOT NULL DEFAULT '',
  notify INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL,
  last_attempt INTEGER NOT NULL DEFAULT 0,
  last_reply TEXT NOT NULL DEFAULT '',
  remote TEXT NOT NULL DEFAULT '');
CREATE INDEX queue_rcpts_due ON queue_rcpts(next_attempt) WHERE state = 0;
CREATE INDEX queue_rcpts_by_entry ON queue_rcpts(queue_id);
)sql",
    // 5 -> 6: SCRAM keys (RFC 5802 StoredKey and ServerKey with salt and iterations),
    // written with the password; NULL for passwords set before.
    R"sql(
ALTER TABLE accounts ADD COLUMN scram_sha1 TEXT;
ALTER TABLE accounts ADD COLUMN scram_sha256 TEXT;
)sql",
    // 6 -> 7: DKIM signing keys per domain (selector, algorithm, PEM private key and the
    // published p= value; state: 0 published but not signing yet, 1 signing, 2 retired),
    // and the greylist (a client network, sender and recipient seen, and when).
    R"sql(
CREATE TABLE dkim_keys(
  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  selector TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  private_key TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(domain_id, selector));
CREATE TABLE greylist(
  triplet TEXT PRIMARY KEY,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  passed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX greylist_by_age ON greylist(last_seen);
)sql",
    // 7 -> 8: the messages marked \Deleted of each mailbox, so EXPUNGE reads those rows
    // instead of every row of the mailbox (the expression is the one expunge_deleted uses).
    R"sql(
CREATE INDEX messages_deleted ON messages(mailbox_id, uid) WHERE ' ' || flags || ' ' LIKE '% \Deleted %';
)sql",
};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }
int current_version() { return static_cast<int>(kMigrations.size()); }

Result<int> read_version(Db& db) {
  auto st = db.prepare("PRAGMA user_version");
  if (!st) return tl::unexpected(st.error());
  auto row = st->step();
  if (!row) return tl::unexpected(row.error());
  return static_cast<int>(st->i64(0));
}

Result<void> migrate(Db& db, int target) {
  if (target < 0) target = current_version();
  auto v = read_version(db);
  if (!v) return tl::unexpected(v.error());
  if (*v > current_version())
    return fail(Errc::Unavailable,
                fmt::format("the data dir has schema version {}, newer than this valija knows ({}); "
                            "run a newer valija or restore a backup",
                            *v, current_version()));
  for (int from = *v; from < target; ++from) {
    auto tx = Tx::begin(db);
    if (!tx) return tl::unexpected(tx.error());
    auto r = db.exec(kMigrations[static_cast<std::size_t>(from)]);
    if (!r) return fail(Errc::Internal, fmt::format("migration {} -> {} failed: {}", from, from + 1, r.error().detail));
    r = db.exec(fmt::format("PRAGMA user_version = {}", from + 1));
    if (!r) return r;
    r = tx->commit();
    if (!r) return r;
  }
  return {};
}

}  // namespace valija::store::sqlite
