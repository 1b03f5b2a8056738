// Mailbox listing, message reading, delivery and expunge of the SQLite engine.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "base/text.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {

namespace {

class FileMessageReader final : public MessageReader {
 public:
  FileMessageReader(std::string prefix, int fd, std::uint64_t offset, std::uint64_t size, std::string path)
      : prefix_(std::move(prefix)), fd_(fd), offset_(offset), body_(size), path_(std::move(path)) {}
  ~FileMessageReader() override { ::close(fd_); }
  std::uint64_t size() const override { return prefix_.size() + body_; }
  Result<std::size_t> read(char* buf, std::size_t n) override {
    auto got = read_at(pos_, buf, n);
    if (got) pos_ += *got;
    return got;
  }
  Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) override {
    std::size_t done = 0;
    std::uint64_t pos = offset;
    if (pos < prefix_.size()) {
      done = std::min(n, prefix_.size() - static_cast<std::size_t>(pos));
      std::memcpy(buf, prefix_.data() + pos, done);
      pos += done;
    }
    while (done < n && pos < size()) {
      auto at = pos - prefix_.size();
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, body_ - at));
      ssize_t got = ::pread(fd_, buf + done, want, static_cast<off_t>(offset_ + at));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return fail(Errc::Internal, fmt::format("read {}: {}", path_, std::strerror(errno)));
      if (got == 0) return fail(Errc::Corrupt, fmt::format("{} ends inside a message body", path_));
      done += static_cast<std::size_t>(got);
      pos += static_cast<std::uint64_t>(got);
    }
    return done;
  }

 private:
  std::string prefix_;
  int fd_;
  std::uint64_t offset_, body_;
  std::string path_;
  std::uint64_t pos_ = 0;
};

}  // namespace

MessageInfo message_from(const Stmt& st) {
  MessageInfo m;
  m.id = st.i64(0);
  m.mailbox = st.i64(1);
  m.uid = static_cast<std::uint32_t>(st.i64(2));
  m.modseq = static_cast<std::uint64_t>(st.i64(3));
  m.flags = st.str(4);
  m.internal_date = st.i64(5);
  m.size = static_cast<std::uint64_t>(st.i64(6));
  m.blob_id = st.str(7);
  m.trace_id = st.str(8);
  m.prefix_size = static_cast<std::uint32_t>(st.i64(9));
  return m;
}

const std::string kMailboxCols =
    "b.id, b.account_id, b.name, b.special_use, b.uidvalidity, b.uidnext, b.highest_modseq, b.messages, "
    "EXISTS(SELECT 1 FROM subscriptions s WHERE s.account_id = b.account_id AND s.name = b.name), b.noselect";

// ---------------- mailboxes and messages ----------------
Result<std::vector<MailboxInfo>> SqliteStore::list_mailboxes(AccountId account) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(
      "SELECT " + kMailboxCols + " FROM mailboxes b WHERE b.account_id = ? ORDER BY b.name <> 'INBOX', b.name");
  TRY(st);
  st->bind(1, account);
  return collect(*st, mailbox_from);
}

Result<std::optional<MailboxInfo>> SqliteStore::find_mailbox(AccountId account, std::string_view name) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(
      "SELECT " + kMailboxCols + " FROM mailboxes b WHERE b.account_id = ? AND b.name = ?");
  TRY(st);
  st->bind(1, account).bind(2, canonical(name));
  auto row = st->step();
  TRY(row);
  if (!*row) return std::optional<MailboxInfo>{};
  return std::optional<MailboxInfo>(mailbox_from(*st));
}

Result<std::vector<MessageInfo>> SqliteStore::list_messages(MailboxId mailbox) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(
      fmt::format("SELECT {} FROM messages m WHERE m.mailbox_id = ? ORDER BY m.uid", kMessageCols));
  TRY(st);
  st->bind(1, mailbox);
  return collect(*st, message_from);
}

Result<SqliteStore::BodyPlace> SqliteStore::body_place(std::string_view blob_id) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached("SELECT pack_id, pack_offset, size FROM blobs WHERE id = ?");
  TRY(st);
  st->bind(1, blob_id);
  auto row = st->step();
  if (!row || !*row) {
    st->reset();
    if (!row) return tl::unexpected(row.error());
    return fail(Errc::NotFound, "message no longer exists");
  }
  BodyPlace p;
  if (!st->is_null(0)) p.pack = static_cast<std::uint64_t>(st->i64(0));
  p.offset = static_cast<std::uint64_t>(st->i64(1));
  p.size = static_cast<std::uint64_t>(st->i64(2));
  st->reset();
  return p;
}

Result<std::unique_ptr<MessageReader>> SqliteStore::open_message(const MessageInfo& m) {
  // The prefix and the body's place in one lookup.
  std::string prefix;
  BodyPlace place;
  {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached(
        "SELECT m.prefix, b.pack_id, b.pack_offset, b.size FROM messages m JOIN blobs b ON b.id = m.blob_id "
        "WHERE m.id = ?");
    TRY(st);
    st->bind(1, m.id);
    auto row = st->step();
    if (!row || !*row) {
      st->reset();
      if (!row) return tl::unexpected(row.error());
      return fail(Errc::NotFound, "message no longer exists");
    }
    prefix = st->str(0);
    if (!st->is_null(1)) place.pack = static_cast<std::uint64_t>(st->i64(1));
    place.offset = static_cast<std::uint64_t>(st->i64(2));
    place.size = static_cast<std::uint64_t>(st->i64(3));
    st->reset();
  }
  return open_body(std::move(prefix), m.blob_id, place);
}

// A body changed on disk (same size, other bytes) is found when it is first opened: its
// content must still hash to its id. Later opens trust that check (`valija check --deep`
// hashes everything again).
Result<void> SqliteStore::verify_body(int fd, std::uint64_t offset, std::uint64_t size, const std::string& blob_id,
                                      const std::string& path) {
  std::uint64_t key = 0;  // the id's first 16 hex digits
  std::from_chars(blob_id.data(), blob_id.data() + std::min<std::size_t>(16, blob_id.size()), key, 16);
  {
    std::lock_guard lock(verified_mu_);
    if (verified_.count(key)) return {};
  }
  auto id = blob::content_id_of(fd, offset, size);
  TRY(id);
  if (*id != blob_id)
    return fail(Errc::Corrupt, fmt::format("{} holds a damaged message body: its content no longer matches its "
                                           "checksum {} ({} octets at {})",
                                           path, blob_id, size, offset));
  std::lock_guard lock(verified_mu_);
  if (verified_.size() >= kVerifiedMax) verified_.clear();
  verified_.insert(key);
  return {};
}

Result<std::unique_ptr<MessageReader>> SqliteStore::open_body(std::string prefix, const std::string& blob_id,
                                                             std::optional<BodyPlace> known) {
  // A compaction may move the body between the lookup and the open: look again once.
  for (int attempt = 0;; ++attempt) {
    Result<BodyPlace> place = known && attempt == 0 ? Result<BodyPlace>(*known) : body_place(blob_id);
    TRY(place);
    std::string path = place->pack ? packs_.path(*place->pack) : blobs_.path(blob_id);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      // A body cut short is found here, before a protocol has announced its size (an
      // IMAP literal cannot be taken back: the error would have to close the session).
      std::uint64_t offset = place->pack ? place->offset : 0;
      struct stat st {};
      if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) < offset + place->size) {
        ::close(fd);
        return fail(Errc::Corrupt, fmt::format("{} is shorter than the message body it holds ({} octets at {}, file "
                                               "{} octets)", path, place->size, offset, st.st_size));
      }
      if (auto ok = verify_body(fd, offset, place->size, blob_id, path); !ok) {
        ::close(fd);
        return tl::unexpected(ok.error());
      }
      return std::unique_ptr<MessageReader>(
          std::make_unique<FileMessageReader>(std::move(prefix), fd, offset, place->size, std::move(path)));
    }
    if (errno != ENOENT) return fail(Errc::Internal, fmt::format("open {}: {}", path, std::strerror(errno)));
    if (attempt == 1) return fail(Errc::Corrupt, fmt::format("message body {} is missing", blob_id));
  }
}

Result<std::string> SqliteStore::read_message(const MessageInfo& m) {
  auto r = open_message(m);
  TRY(r);
  std::string out(static_cast<std::size_t>((*r)->size()), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = (*r)->read(out.data() + done, out.size() - done);
    TRY(n);
    if (*n == 0) break;
    done += *n;
  }
  out.resize(done);
  return out;
}

Result<std::size_t> SqliteStore::expunge(MailboxId mailbox, std::span<const std::uint32_t> uids) {
  std::size_t removed = 0;
  AccountId account = 0;
  {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    for (auto uid : uids) {
      auto r = remove_message(mailbox, uid, true);
      TRY(r);
      removed += *r ? 1 : 0;
    }
    auto owner = mailbox_owner(mailbox);
    TRY(owner);
    account = *owner;
    TRY(commit_writer(*tx));
  }
  if (removed) notify(account, mailbox);
  return removed;
}

Result<bool> SqliteStore::fits_quota(AccountId account, std::uint64_t bytes, std::uint64_t messages) {
  auto acc = writer_.cached("SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM accounts WHERE id = ?");
  TRY(acc);
  acc->bind(1, account);
  auto row = acc->step();
  TRY(row);
  if (!*row) return fail(Errc::NotFound, "account no longer exists");
  auto qb = static_cast<std::uint64_t>(acc->i64(0)), qm = static_cast<std::uint64_t>(acc->i64(1));
  auto ub = static_cast<std::uint64_t>(acc->i64(2)), um = static_cast<std::uint64_t>(acc->i64(3));
  acc->reset();
  return !((qb && ub + bytes > qb) || (qm && um + messages > qm));
}

Result<AccountId> SqliteStore::mailbox_owner(MailboxId mailbox) {
  auto st = writer_.cached("SELECT account_id FROM mailboxes WHERE id = ?");
  TRY(st);
  st->bind(1, mailbox);
  auto row = st->step();
  TRY(row);
  AccountId account = *row ? st->i64(0) : 0;  // 0: gone (nobody to tell)
  st->reset();
  return account;
}

// Each removal gets its own MODSEQ in the expunge log (RFC 7162 §3.2.5.1: VANISHED
// (EARLIER) answers from it).
Result<bool> SqliteStore::remove_message(MailboxId mailbox, std::uint32_t uid, bool log_expunge) {
  auto find = writer_.cached("SELECT id, size, blob_id FROM messages WHERE mailbox_id = ? AND uid = ?");
  TRY(find);
  find->bind(1, mailbox).bind(2, static_cast<std::int64_t>(uid));
  auto row = find->step();
  TRY(row);
  if (!*row) return false;
  auto id = find->i64(0);
  auto size = find->i64(1);
  auto blob = find->str(2);
  find->reset();
  auto del = writer_.cached("DELETE FROM messages WHERE id = ?");
  TRY(del);
  TRY(del->bind(1, id).run());
  auto refs = writer_.cached("UPDATE blobs SET refs = refs - 1 WHERE id = ?");
  TRY(refs);
  TRY(refs->bind(1, blob).run());
  auto modseq = writer_.cached(
      "UPDATE mailboxes SET highest_modseq = highest_modseq + 1, messages = messages - 1 "
      "WHERE id = ? RETURNING account_id, highest_modseq");
  TRY(modseq);
  modseq->bind(1, mailbox);
  auto m = modseq->step();
  TRY(m);
  if (!*m) return fail(Errc::NotFound, "mailbox no longer exists");
  auto account = modseq->i64(0);
  auto seq = modseq->i64(1);
  modseq->reset();
  if (log_expunge) {
    auto log = writer_.cached("INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES(?, ?, ?)");
    TRY(log);
    TRY(log->bind(1, mailbox).bind(2, static_cast<std::int64_t>(uid)).bind(3, seq).run());
  }
  auto usage = writer_.cached(
      "UPDATE accounts SET used_bytes = max(used_bytes - ?, 0), used_messages = max(used_messages - 1, 0) "
      "WHERE id = ?");
  TRY(usage);
  TRY(usage->bind(1, size).bind(2, account).run());
  return true;
}

Result<std::vector<std::vector<CopyResult>>> SqliteStore::deliver(std::span<const Delivery> batch) {
  std::vector<std::pair<AccountId, MailboxId>> touched;
  auto results = deliver_locked(batch, touched);
  if (results) {
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (auto [account, mailbox] : touched) notify(account, mailbox);
  }
  return results;
}

Result<std::vector<std::vector<CopyResult>>> SqliteStore::deliver_locked(
    std::span<const Delivery> batch, std::vector<std::pair<AccountId, MailboxId>>& touched) {
  std::lock_guard lock(write_mu_);
  struct Unpin {
    SqliteStore* s;
    std::span<const Delivery> batch;
    ~Unpin() { s->unpin(batch); }
  } unpin{this, batch};
  // 1. Bodies not stored by put_blob() go to the current pack: new ones (not already
  // stored, not twice in this batch) appended together, one fdatasync for all.
  std::vector<std::string> ids(batch.size());
  std::vector<std::string_view> fresh;
  std::vector<std::size_t> fresh_of(batch.size(), SIZE_MAX);  // index into fresh
  std::unordered_map<std::string_view, std::size_t> in_batch;
  auto exists = writer_.cached("SELECT 1 FROM blobs WHERE id = ?");
  TRY(exists);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& d = batch[i];
    if (!d.blob_id.empty()) {
      ids[i] = d.blob_id;
      continue;
    }
    ids[i] = d.content_id.empty() ? blob::content_id(d.body) : d.content_id;
    if (auto it = in_batch.find(ids[i]); it != in_batch.end()) continue;
    exists->reset();
    exists->bind(1, ids[i]);
    auto row = exists->step();
    exists->reset();
    TRY(row);
    if (*row) continue;  // stored before: one more reference
    in_batch.emplace(ids[i], fresh.size());
    fresh_of[i] = fresh.size();
    fresh.push_back(d.body);
  }
  std::vector<std::uint64_t> offsets;
  std::uint64_t fresh_bytes = 0;
  if (!fresh.empty()) {
    auto appended = append_to_pack(fresh);
    TRY(appended);
    offsets = std::move(*appended);
    for (auto b : fresh) fresh_bytes += b.size();
  }
  // 2. Metadata: every copy of every delivery in one transaction (group commit).
  auto tx = Tx::begin(writer_);
  TRY(tx);
  if (!fresh.empty()) TRY(record_pack_growth(fresh_bytes));
  std::vector<std::vector<CopyResult>> results(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& d = batch[i];
    // The blob row comes first (messages reference it); refs counts the stored copies.
    if (fresh_of[i] != SIZE_MAX) {
      auto blob_row = writer_.cached(
          "INSERT INTO blobs(id, size, refs, pack_id, pack_offset, meta) VALUES(?, ?, 0, ?, ?, nullif(?, ''))");
      TRY(blob_row);
      TRY(blob_row->bind(1, ids[i])
              .bind(2, static_cast<std::int64_t>(d.body.size()))
              .bind(3, static_cast<std::int64_t>(current_pack_.load()))
              .bind(4, static_cast<std::int64_t>(offsets[fresh_of[i]]))
              .bind_blob(5, d.meta)
              .run());
    } else if (!d.blob_id.empty()) {  // a file of its own, from put_blob()
      auto blob_row = writer_.cached(
          "INSERT INTO blobs(id, size, refs, meta) VALUES(?, ?, 0, nullif(?, '')) ON CONFLICT(id) DO NOTHING");
      TRY(blob_row);
      TRY(blob_row->bind(1, ids[i]).bind(2, static_cast<std::int64_t>(d.body.size())).bind_blob(3, d.meta).run());
    }
    if (fresh_of[i] == SIZE_MAX && !d.meta.empty()) {  // stored before, maybe without its structure
      auto meta = writer_.cached("UPDATE blobs SET meta = ? WHERE id = ? AND meta IS NULL");
      TRY(meta);
      TRY(meta->bind_blob(1, d.meta).bind(2, ids[i]).run());
    }
    std::int64_t stored = 0;
    for (const auto& c : d.copies) {
      auto r = insert_copy(d, ids[i], c);
      if (r) {
        ++stored;
        touched.emplace_back(c.account, r->mailbox);
      }
      // A full mailbox or an account removed since RCPT fails that copy alone. Any other
      // error (I/O, a full disk) fails the whole batch: nothing is committed and every
      // sender gets a temporary failure, rather than a success with a copy missing.
      if (!r && r.error().code != Errc::Quota && r.error().code != Errc::NotFound) return tl::unexpected(r.error());
      results[i].push_back(std::move(r));
    }
    if (d.outbound && !d.outbound->rcpts.empty()) TRY(enqueue(d, ids[i]));
    auto refs = writer_.cached("UPDATE blobs SET refs = refs + ? WHERE id = ?");
    TRY(refs);
    TRY(refs->bind(1, stored).bind(2, ids[i]).run());
  }
  TRY(commit_writer(*tx));
  if (packs_.end() >= pack_max_) next_pack();
  return results;
}

// Appends bodies to the current pack (opening it if needed). commit_writer() syncs
// them before the commit that references them: their writeback runs meanwhile.
Result<std::vector<std::uint64_t>> SqliteStore::append_to_pack(std::span<const std::string_view> bodies) {
  if (!packs_.is_open()) TRY(packs_.open(current_pack_));
  auto appended = packs_.append(bodies);
  if (!appended) next_pack();  // never append to a pack whose write failed
  return appended;
}

// Inside the writer's transaction: the current pack's row (created with its first
// bodies) gets its new end and `added` more live octets.
Result<void> SqliteStore::record_pack_growth(std::uint64_t added) {
  auto row = writer_.cached(
      "INSERT INTO packs(id, size, live) VALUES(?, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET size = excluded.size, live = live + excluded.live");
  TRY(row);
  return row->bind(1, static_cast<std::int64_t>(current_pack_.load()))
      .bind(2, static_cast<std::int64_t>(packs_.end()))
      .bind(3, static_cast<std::int64_t>(added))
      .run();
}

// The next appends go to a new pack (the current one is full, or failed).
void SqliteStore::next_pack() {
  packs_.close();
  ++current_pack_;
}

Result<std::string> SqliteStore::put_blob(std::string_view body) {
  auto id = blob::content_id(body);
  {
    std::lock_guard l(pin_mu_);
    ++pinned_[id];  // before the file exists, so garbage collection cannot race us
  }
  auto r = blobs_.put_durable(id, body);
  if (!r) {
    std::lock_guard l(pin_mu_);
    if (--pinned_[id] == 0) pinned_.erase(id);
    return tl::unexpected(r.error());
  }
  return id;
}

// A blob stays pinned until the commit naming it: inside Store::batch that is the
// batch's commit (the orphan sweep would otherwise take the file meanwhile).
void SqliteStore::unpin(std::span<const Delivery> batch) {
  std::vector<std::string> ids;
  for (const auto& d : batch)
    if (!d.blob_id.empty()) ids.push_back(d.blob_id);
  if (batch_depth_ > 0) {
    deferred_unpins_.insert(deferred_unpins_.end(), ids.begin(), ids.end());
    return;
  }
  unpin_ids(ids);
}

void SqliteStore::unpin_ids(const std::vector<std::string>& ids) {
  std::lock_guard l(pin_mu_);
  for (const auto& id : ids) {
    auto it = pinned_.find(id);
    if (it != pinned_.end() && --it->second == 0) pinned_.erase(it);
  }
}

MailboxInfo mailbox_from(const Stmt& st) {
  MailboxInfo m;
  m.id = st.i64(0);
  m.account = st.i64(1);
  m.name = st.str(2);
  m.special_use = st.str(3);
  m.uidvalidity = static_cast<std::uint32_t>(st.i64(4));
  m.uidnext = static_cast<std::uint32_t>(st.i64(5));
  m.highest_modseq = static_cast<std::uint64_t>(st.i64(6));
  m.messages = static_cast<std::uint32_t>(st.i64(7));
  m.subscribed = st.i64(8) != 0;
  m.noselect = st.i64(9) != 0;
  return m;
}

// One copy in a savepoint, so a quota or mailbox failure leaves the others intact.
CopyResult SqliteStore::insert_copy(const Delivery& d, const std::string& blob_id, const Copy& c) {
  TRY(writer_.exec("SAVEPOINT copy"));
  auto r = insert_copy_rows(d, blob_id, c);
  if (!r) {
    (void)writer_.exec("ROLLBACK TO copy");
    (void)writer_.exec("RELEASE copy");
    return r;
  }
  TRY(writer_.exec("RELEASE copy"));
  return r;
}

CopyResult SqliteStore::insert_copy_rows(const Delivery& d, const std::string& blob_id, const Copy& c) {
  std::uint64_t size = c.prefix.size() + d.body.size();
  auto fits = fits_quota(c.account, size, 1);
  TRY(fits);
  if (!*fits && !c.allow_over_quota) return fail(Errc::Quota, "mailbox full");
  auto mb = writer_.cached(
      "UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1, messages = messages + 1 "
      "WHERE account_id = ? AND name = ? AND noselect = 0 RETURNING id, uidvalidity, uidnext - 1, highest_modseq");
  TRY(mb);
  std::string name = c.mailbox;
  if (name.starts_with('\\')) {  // a special use (Copy::mailbox): the folder that has it, else INBOX
    auto su = writer_.cached(
        "SELECT name FROM mailboxes WHERE account_id = ? AND special_use = ? AND noselect = 0 ORDER BY id LIMIT 1");
    TRY(su);
    su->bind(1, c.account).bind(2, name);
    auto found = su->step();
    TRY(found);
    name = *found ? su->str(0) : "INBOX";
    su->reset();
  }
  mb->bind(1, c.account).bind(2, name);
  auto mrow = mb->step();
  TRY(mrow);
  if (!*mrow) return fail(Errc::NotFound, fmt::format("no mailbox {}", name));
  Delivered out{mb->i64(0), static_cast<std::uint32_t>(mb->i64(1)), static_cast<std::uint32_t>(mb->i64(2))};
  auto modseq = mb->i64(3);
  mb->reset();
  auto ins = writer_.cached(
      "INSERT INTO messages(mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix, trace_id) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  TRY(ins);
  ins->bind(1, out.mailbox).bind(2, static_cast<std::int64_t>(out.uid)).bind(3, modseq).bind(4, c.flags)
      .bind(5, d.internal_date).bind(6, static_cast<std::int64_t>(size)).bind(7, blob_id).bind_blob(8, c.prefix)
      .bind(9, d.trace_id);
  TRY(ins->run());
  auto upd = writer_.cached("UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + 1 WHERE id = ?");
  TRY(upd);
  TRY(upd->bind(1, static_cast<std::int64_t>(size)).bind(2, c.account).run());
  return out;
}

}  // namespace valija::store::sqlite
