// The outbound queue of the SQLite engine: entries (one body reference and the
// envelope) and their recipients' states. Entries go in with a delivery
// (deliver_locked calls enqueue inside its transaction); attempts update recipients;
// an entry without pending recipients is removed in the same commit.
#include <fmt/format.h>

#include <map>

#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {
namespace {

constexpr std::string_view kEntryCols =
    "q.id, q.blob_id, q.size, q.created, q.trace_id, q.warned, q.sender, q.prefix, q.envid, q.ret, q.smtputf8, "
    "q.eight_bit, q.requiretls, q.origin";
constexpr std::string_view kRcptCols =
    "r.id, r.address, r.domain, r.orcpt, r.notify, r.state, r.attempts, r.next_attempt, r.last_attempt, "
    "r.last_reply, r.remote";

QueueEntry entry_from(const Stmt& st) {
  QueueEntry e;
  e.id = st.i64(0);
  e.blob_id = st.str(1);
  e.size = static_cast<std::uint64_t>(st.i64(2));
  e.created = st.i64(3);
  e.trace_id = st.str(4);
  e.warned = st.i64(5) != 0;
  e.message.sender = st.str(6);
  e.message.prefix = st.str(7);
  e.message.envid = st.str(8);
  e.message.ret = static_cast<int>(st.i64(9));
  e.message.smtputf8 = st.i64(10) != 0;
  e.message.eight_bit = st.i64(11) != 0;  // 1: 8BITMIME, 2: BINARYMIME
  e.message.binary = st.i64(11) == 2;
  e.message.requiretls = st.i64(12) != 0;
  e.message.origin = st.str(13);
  return e;
}

// The recipient columns follow the entry's (offset 14).
QueuedRecipient rcpt_from(const Stmt& st, int at) {
  QueuedRecipient r;
  r.id = st.i64(at);
  r.address = st.str(at + 1);
  r.domain = st.str(at + 2);
  r.orcpt = st.str(at + 3);
  r.notify = static_cast<unsigned>(st.i64(at + 4));
  r.state = static_cast<QueueState>(st.i64(at + 5));
  r.attempts = static_cast<std::uint32_t>(st.i64(at + 6));
  r.next_attempt = st.i64(at + 7);
  r.last_attempt = st.i64(at + 8);
  r.last_reply = st.str(at + 9);
  r.remote = st.str(at + 10);
  return r;
}

// Rows of (entry, recipient) grouped into entries, in the order the entries first appear.
Result<std::vector<QueueEntry>> group(Stmt& st) {
  std::vector<QueueEntry> out;
  std::map<std::int64_t, std::size_t> at;
  while (true) {
    auto row = st.step();
    TRY(row);
    if (!*row) break;
    auto id = st.i64(0);
    auto it = at.find(id);
    if (it == at.end()) {
      it = at.emplace(id, out.size()).first;
      out.push_back(entry_from(st));
    }
    out[it->second].message.rcpts.push_back(rcpt_from(st, 14));
  }
  return out;
}

}  // namespace

// Inside deliver_locked's transaction: the entry, its recipients, one body reference.
Result<void> SqliteStore::enqueue(const Delivery& d, const std::string& blob_id) {
  const Outbound& o = *d.outbound;
  auto ins = writer_.cached(
      "INSERT INTO queue(blob_id, prefix, size, sender, created, trace_id, envid, ret, smtputf8, eight_bit, "
      "requiretls, origin) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  TRY(ins);
  ins->bind(1, blob_id)
      .bind_blob(2, o.prefix)
      .bind(3, static_cast<std::int64_t>(o.prefix.size() + d.body.size()))
      .bind(4, o.sender)
      .bind(5, d.internal_date)
      .bind(6, d.trace_id)
      .bind(7, o.envid)
      .bind(8, static_cast<std::int64_t>(o.ret))
      .bind(9, o.smtputf8 ? 1 : 0)
      .bind(10, o.binary ? 2 : o.eight_bit ? 1 : 0)
      .bind(11, o.requiretls ? 1 : 0)
      .bind(12, o.origin);
  auto row = ins->step();
  TRY(row);
  auto id = ins->i64(0);
  ins->reset();
  for (const auto& r : o.rcpts) {
    auto rc = writer_.cached(
        "INSERT INTO queue_rcpts(queue_id, address, domain, orcpt, notify, next_attempt) VALUES(?, ?, ?, ?, ?, ?)");
    TRY(rc);
    TRY(rc->bind(1, id)
            .bind(2, r.address)
            .bind(3, r.domain)
            .bind(4, r.orcpt)
            .bind(5, static_cast<std::int64_t>(r.notify))
            .bind(6, r.next_attempt ? r.next_attempt : d.internal_date)
            .run());
  }
  auto refs = writer_.cached("UPDATE blobs SET refs = refs + 1 WHERE id = ?");
  TRY(refs);
  return refs->bind(1, blob_id).run();
}

Result<std::vector<QueueEntry>> SqliteStore::queue_due(std::int64_t now, std::size_t limit) {
  auto rd = reader();
  TRY(rd);
  // The due recipients of the entries holding the `limit` earliest due ones.
  auto st = rd->db().cached(fmt::format(
      "SELECT {}, {} FROM queue q JOIN queue_rcpts r ON r.queue_id = q.id "
      "WHERE r.state = 0 AND r.next_attempt <= ?1 AND q.id IN ("
      "  SELECT queue_id FROM queue_rcpts WHERE state = 0 AND next_attempt <= ?1 ORDER BY next_attempt LIMIT ?2) "
      "ORDER BY q.created, q.id, r.id",
      kEntryCols, kRcptCols));
  TRY(st);
  st->bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  return group(*st);
}

Result<std::vector<QueueEntry>> SqliteStore::list_queue() {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(fmt::format(
      "SELECT {}, {} FROM queue q JOIN queue_rcpts r ON r.queue_id = q.id ORDER BY q.created, q.id, r.id", kEntryCols,
      kRcptCols));
  TRY(st);
  return group(*st);
}

Result<std::optional<QueueEntry>> SqliteStore::find_queued(std::int64_t id) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(fmt::format(
      "SELECT {}, {} FROM queue q JOIN queue_rcpts r ON r.queue_id = q.id WHERE q.id = ? ORDER BY r.id", kEntryCols,
      kRcptCols));
  TRY(st);
  st->bind(1, id);
  auto entries = group(*st);
  TRY(entries);
  if (entries->empty()) return std::optional<QueueEntry>{};
  return std::optional<QueueEntry>(std::move(entries->front()));
}

Result<std::unique_ptr<MessageReader>> SqliteStore::open_queued(const QueueEntry& entry) {
  return open_body(entry.message.prefix, entry.blob_id);
}

Result<void> SqliteStore::update_queue(std::span<const RecipientUpdate> updates) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  std::vector<std::int64_t> entries;
  auto now = std::time(nullptr);
  for (const auto& u : updates) {
    auto st = writer_.cached(
        "UPDATE queue_rcpts SET state = ?, next_attempt = ?, last_reply = ?, remote = ?, "
        "attempts = attempts + ?, last_attempt = CASE WHEN ? THEN ? ELSE last_attempt END "
        "WHERE id = ? RETURNING queue_id");
    TRY(st);
    st->bind(1, static_cast<std::int64_t>(u.state))
        .bind(2, u.next_attempt)
        .bind(3, u.last_reply)
        .bind(4, u.remote)
        .bind(5, u.attempted ? 1 : 0)
        .bind(6, u.attempted ? 1 : 0)
        .bind(7, static_cast<std::int64_t>(now))
        .bind(8, u.id);
    auto row = st->step();
    TRY(row);
    if (*row) entries.push_back(st->i64(0));
    st->reset();
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  for (auto e : entries) {
    auto left = writer_.cached("SELECT count(*) FROM queue_rcpts WHERE queue_id = ? AND state = 0");
    TRY(left);
    left->bind(1, e);
    TRY(left->step());
    auto pending = left->i64(0);
    left->reset();
    if (pending == 0) TRY(remove_entry(e));
  }
  return commit_writer(*tx);
}

// Inside the writer's transaction: the entry and its recipients go, with the body reference.
Result<bool> SqliteStore::remove_entry(std::int64_t id) {
  auto del = writer_.cached("DELETE FROM queue WHERE id = ? RETURNING blob_id");
  TRY(del);
  del->bind(1, id);
  auto row = del->step();
  TRY(row);
  if (!*row) {
    del->reset();
    return false;
  }
  auto blob = del->str(0);
  del->reset();
  auto refs = writer_.cached("UPDATE blobs SET refs = refs - 1 WHERE id = ?");
  TRY(refs);
  TRY(refs->bind(1, blob).run());
  return true;
}

Result<void> SqliteStore::mark_warned(std::int64_t entry) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto st = writer_.cached("UPDATE queue SET warned = 1 WHERE id = ?");
  TRY(st);
  TRY(st->bind(1, entry).run());
  return commit_writer(*tx);
}

Result<bool> SqliteStore::delete_queued(std::int64_t entry) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto r = remove_entry(entry);
  TRY(r);
  TRY(commit_writer(*tx));
  return *r;
}

}  // namespace valija::store::sqlite
