// SQLite engine of the Store interface: metadata in <data>/valija.db (WAL, synchronous
// FULL), bodies in <data>/blobs (blob_store.hpp). One writer connection serialises all
// writes, so a batch of deliveries shares one commit; readers use a pool of connections.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "store/blob/blob_store.hpp"
#include "store/blob/pack_files.hpp"
#include "store/sqlite/db.hpp"
#include "store/sqlite/schema.hpp"
#include "store/store.hpp"

namespace valija::store {
namespace {

using sqlite::Db;
using sqlite::Stmt;
using sqlite::Tx;

struct DefaultMailbox {
  std::string_view name;
  std::string_view special_use;
};
// RFC 6154 special-use mailboxes every account starts with.
constexpr std::array<DefaultMailbox, 6> kDefaultMailboxes{{
    {"INBOX", ""}, {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"},
}};

#define TRY(expr)                                          \
  do {                                                     \
    auto&& _r = (expr);                                    \
    if (!_r) return tl::unexpected(_r.error());            \
  } while (0)

Result<void> configure(Db& db) {
  TRY(db.exec("PRAGMA journal_mode=WAL"));
  // FULL: the WAL is fsynced at every commit, so a committed delivery survives power loss.
  TRY(db.exec("PRAGMA synchronous=FULL"));
  TRY(db.exec("PRAGMA foreign_keys=ON"));
  return {};
}

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
  return a;
}

constexpr std::string_view kAccountCols =
    "a.id, a.local, d.name, a.password_hash, a.quota_bytes, a.quota_messages, a.used_bytes, "
    "a.used_messages, a.created, coalesce(a.apop_secret, '') FROM accounts a JOIN domains d ON d.id = a.domain_id ";

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
  return m;
}

// Steps through every row, mapping each with `from`.
template <class F>
auto collect(Stmt& st, F from) -> Result<std::vector<decltype(from(st))>> {
  std::vector<decltype(from(st))> out;
  while (true) {
    auto row = st.step();
    TRY(row);
    if (!*row) break;
    out.push_back(from(st));
  }
  return out;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const OpenOptions& o, Db writer)
      : dir_(o.data_dir),
        writer_(std::move(writer)),
        blobs_(dir_ + "/blobs"),
        packs_(dir_ + "/packs"),
        pack_max_(o.pack_max),
        compact_min_(o.compact_min) {}

  ~SqliteStore() override {
    {
      std::lock_guard l(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_one();
    if (ckpt_thread_.joinable()) ckpt_thread_.join();
  }

  Result<void> init() {
    TRY(blobs_.init());
    TRY(packs_.init());
    // Appends continue in the newest committed pack while it has room; otherwise (and
    // past any pack file a crash left uncommitted) a new one starts.
    auto files = packs_.list();
    TRY(files);
    std::uint64_t newest_file = files->empty() ? 0 : files->back();
    auto st = writer_.cached("SELECT id, size FROM packs ORDER BY id DESC LIMIT 1");
    TRY(st);
    auto row = st->step();
    TRY(row);
    std::uint64_t newest = 0, size = 0;
    if (*row) {
      newest = static_cast<std::uint64_t>(st->i64(0));
      size = static_cast<std::uint64_t>(st->i64(1));
    }
    st->reset();
    if (newest > 0 && newest >= newest_file && size < pack_max_) current_pack_ = newest;
    else current_pack_ = std::max(newest, newest_file) + 1;
    return {};
  }

  // Checkpoints copy the WAL back into the database file (and fsync it). Done by the
  // committing connection, they would stall deliveries for that time; here a thread of
  // its own runs them (PASSIVE: never blocks the writer), woken when the WAL has grown.
  // If its connection cannot be opened, the writer keeps SQLite's own automatic
  // checkpoints (slower commits, but the WAL never grows without bound).
  void start_checkpointer() {
    auto db = Db::open(dir_ + "/valija.db");
    // A connection that has not read the database yet does not know it is in WAL mode
    // (the checkpoint would be a no-op): make it look.
    if (!db || !db->exec("PRAGMA journal_mode=WAL")) {
      log::warn("event=checkpointer_unavailable error={} fallback=autocheckpoint",
                log::q(db ? "journal_mode" : db.error().detail));
      return;
    }
    sqlite3_wal_hook(writer_.raw(), &SqliteStore::on_wal_commit, this);
    ckpt_thread_ = std::thread([this, conn = std::make_shared<Db>(std::move(*db))] { checkpoint_loop(*conn); });
  }

  static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    auto* s = static_cast<SqliteStore*>(self);
    if (pages >= kCheckpointPages) {
      {
        std::lock_guard l(s->ckpt_mu_);
        s->ckpt_wanted_ = true;
      }
      s->ckpt_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void checkpoint_loop(Db& db) {
    std::unique_lock l(ckpt_mu_);
    while (!ckpt_stop_) {
      ckpt_cv_.wait_for(l, std::chrono::seconds(5), [this] { return ckpt_stop_ || ckpt_wanted_; });
      if (ckpt_stop_) break;
      ckpt_wanted_ = false;
      l.unlock();
      int rc = sqlite3_wal_checkpoint_v2(db.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) log::warn("event=checkpoint_failed error={}", log::q(sqlite3_errstr(rc)));
      l.lock();
    }
  }

  // ---------------- directory ----------------
  Result<Domain> add_domain(std::string_view name) override {
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

  Result<std::vector<Domain>> list_domains() override {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached("SELECT id, name, created FROM domains ORDER BY name");
    TRY(st);
    return collect(*st, [](const Stmt& r) { return Domain{r.i64(0), r.str(1), r.i64(2)}; });
  }

  Result<std::optional<Domain>> find_domain(std::string_view name) override {
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

  Result<void> remove_domain(std::string_view name, bool force) override {
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
    return tx->commit();
  }

  Result<Account> add_account(std::string_view local, std::string_view domain, std::string_view hash,
                              std::uint64_t quota_bytes) override {
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
    auto mb = writer_.cached("INSERT INTO mailboxes(account_id, name, special_use, uidvalidity) VALUES(?, ?, ?, ?)");
    TRY(mb);
    for (const auto& m : kDefaultMailboxes) {
      mb->reset();
      auto uidvalidity = next_uidvalidity();
      TRY(uidvalidity);
      TRY(mb->bind(1, id).bind(2, m.name).bind(3, m.special_use).bind(4, *uidvalidity).run());
    }
    TRY(tx->commit());
    Account a;
    a.id = id;
    a.local = l;
    a.domain = d;
    a.password_hash = std::string(hash);
    a.quota_bytes = quota_bytes;
    a.created = now;
    return a;
  }

  Result<std::optional<Account>> find_account(std::string_view local, std::string_view domain) override {
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

  Result<std::vector<Account>> list_accounts(std::optional<std::string_view> domain) override {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached(fmt::format("SELECT {} {} ORDER BY d.name, a.local", kAccountCols,
                                           domain ? "WHERE d.name = ?" : ""));
    TRY(st);
    if (domain) st->bind(1, text::to_lower(*domain));
    return collect(*st, account_from);
  }

  Result<void> set_password(std::string_view local, std::string_view domain, std::string_view hash) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_.cached(
        "UPDATE accounts SET password_hash = ? WHERE local = ? AND domain_id = (SELECT id FROM domains WHERE name = ?)");
    TRY(st);
    TRY(st->bind(1, hash).bind(2, text::to_lower(local)).bind(3, text::to_lower(domain)).run());
    if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
    return {};
  }

  Result<void> set_apop_secret(std::string_view local, std::string_view domain, std::string_view secret) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_.cached(
        "UPDATE accounts SET apop_secret = nullif(?, '') WHERE local = ? AND domain_id = "
        "(SELECT id FROM domains WHERE name = ?)");
    TRY(st);
    TRY(st->bind(1, secret).bind(2, text::to_lower(local)).bind(3, text::to_lower(domain)).run());
    if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no account {}@{}", local, domain));
    return {};
  }

  Result<void> set_quota(std::string_view local, std::string_view domain, std::uint64_t bytes,
                         std::uint64_t messages) override {
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

  Result<void> remove_account(std::string_view local, std::string_view domain) override {
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
    return tx->commit();
  }

  Result<void> add_alias(std::string_view local, std::string_view domain,
                         std::span<const std::string> targets) override {
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
    return tx->commit();
  }

  Result<std::optional<Alias>> find_alias(std::string_view local, std::string_view domain) override {
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

  Result<std::vector<Alias>> list_aliases(std::optional<std::string_view> domain) override {
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

  Result<void> remove_alias(std::string_view local, std::string_view domain, std::string_view target) override {
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
    return tx->commit();
  }

  // ---------------- mailboxes and messages ----------------
  Result<std::vector<MailboxInfo>> list_mailboxes(AccountId account) override {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached(
        "SELECT id, account_id, name, special_use, uidvalidity, uidnext, highest_modseq, messages, subscribed "
        "FROM mailboxes WHERE account_id = ? ORDER BY name <> 'INBOX', name");
    TRY(st);
    st->bind(1, account);
    return collect(*st, mailbox_from);
  }

  Result<std::optional<MailboxInfo>> find_mailbox(AccountId account, std::string_view name) override {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached(
        "SELECT id, account_id, name, special_use, uidvalidity, uidnext, highest_modseq, messages, subscribed "
        "FROM mailboxes WHERE account_id = ? AND name = ?");
    TRY(st);
    st->bind(1, account).bind(2, text::iequals(name, "INBOX") ? std::string_view("INBOX") : name);
    auto row = st->step();
    TRY(row);
    if (!*row) return std::optional<MailboxInfo>{};
    return std::optional<MailboxInfo>(mailbox_from(*st));
  }

  Result<std::vector<MessageInfo>> list_messages(MailboxId mailbox) override {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached(
        "SELECT id, mailbox_id, uid, modseq, flags, internal_date, size, blob_id, trace_id "
        "FROM messages WHERE mailbox_id = ? ORDER BY uid");
    TRY(st);
    st->bind(1, mailbox);
    return collect(*st, message_from);
  }

  // A body's place, as the metadata says now.
  struct BodyPlace {
    std::string prefix;
    std::optional<std::uint64_t> pack;
    std::uint64_t offset = 0, size = 0;
  };
  Result<BodyPlace> body_place(const MessageInfo& m) {
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
    BodyPlace p;
    p.prefix = st->str(0);
    if (!st->is_null(1)) p.pack = static_cast<std::uint64_t>(st->i64(1));
    p.offset = static_cast<std::uint64_t>(st->i64(2));
    p.size = static_cast<std::uint64_t>(st->i64(3));
    st->reset();
    return p;
  }

  class FileMessageReader final : public MessageReader {
   public:
    FileMessageReader(std::string prefix, int fd, std::uint64_t offset, std::uint64_t size, std::string path)
        : prefix_(std::move(prefix)), fd_(fd), offset_(offset), body_(size), path_(std::move(path)) {}
    ~FileMessageReader() override { ::close(fd_); }
    std::uint64_t size() const override { return prefix_.size() + body_; }
    Result<std::size_t> read(char* buf, std::size_t n) override {
      std::size_t done = 0;
      if (pos_ < prefix_.size()) {
        done = std::min(n, prefix_.size() - static_cast<std::size_t>(pos_));
        std::memcpy(buf, prefix_.data() + pos_, done);
        pos_ += done;
      }
      while (done < n && pos_ < size()) {
        auto at = pos_ - prefix_.size();
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, body_ - at));
        ssize_t got = ::pread(fd_, buf + done, want, static_cast<off_t>(offset_ + at));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(Errc::Internal, fmt::format("read {}: {}", path_, std::strerror(errno)));
        if (got == 0) return fail(Errc::Corrupt, fmt::format("{} ends inside a message body", path_));
        done += static_cast<std::size_t>(got);
        pos_ += static_cast<std::uint64_t>(got);
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

  Result<std::unique_ptr<MessageReader>> open_message(const MessageInfo& m) override {
    // A compaction may move the body between the lookup and the open: look again once.
    for (int attempt = 0;; ++attempt) {
      auto place = body_place(m);
      TRY(place);
      std::string path = place->pack ? packs_.path(*place->pack) : blobs_.path(m.blob_id);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0)
        return std::unique_ptr<MessageReader>(std::make_unique<FileMessageReader>(
            std::move(place->prefix), fd, place->pack ? place->offset : 0, place->size, std::move(path)));
      if (errno != ENOENT) return fail(Errc::Internal, fmt::format("open {}: {}", path, std::strerror(errno)));
      if (attempt == 1) return fail(Errc::Corrupt, fmt::format("message body {} is missing", m.blob_id));
    }
  }

  Result<std::string> read_message(const MessageInfo& m) override {
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

  Result<std::size_t> expunge(MailboxId mailbox, std::span<const std::uint32_t> uids) override {
    std::lock_guard lock(write_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto find = writer_.cached("SELECT id, size, blob_id FROM messages WHERE mailbox_id = ? AND uid = ?");
    TRY(find);
    auto del = writer_.cached("DELETE FROM messages WHERE id = ?");
    TRY(del);
    auto refs = writer_.cached("UPDATE blobs SET refs = refs - 1 WHERE id = ?");
    TRY(refs);
    auto modseq = writer_.cached("UPDATE mailboxes SET highest_modseq = highest_modseq + 1, messages = messages - 1 "
                                 "WHERE id = ? RETURNING account_id, highest_modseq");
    TRY(modseq);
    auto log = writer_.cached("INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES(?, ?, ?)");
    TRY(log);
    auto usage = writer_.cached("UPDATE accounts SET used_bytes = max(used_bytes - ?, 0), "
                                "used_messages = max(used_messages - 1, 0) WHERE id = ?");
    TRY(usage);
    std::size_t removed = 0;
    for (auto uid : uids) {
      find->reset();
      find->bind(1, mailbox).bind(2, static_cast<std::int64_t>(uid));
      auto row = find->step();
      TRY(row);
      if (!*row) continue;
      auto id = find->i64(0);
      auto size = find->i64(1);
      auto blob = find->str(2);
      find->reset();
      del->reset();
      TRY(del->bind(1, id).run());
      refs->reset();
      TRY(refs->bind(1, blob).run());
      modseq->reset();
      modseq->bind(1, mailbox);
      auto m = modseq->step();
      TRY(m);
      if (!*m) return fail(Errc::NotFound, "mailbox no longer exists");
      auto account = modseq->i64(0);
      auto seq = modseq->i64(1);
      modseq->reset();
      log->reset();
      TRY(log->bind(1, mailbox).bind(2, static_cast<std::int64_t>(uid)).bind(3, seq).run());
      usage->reset();
      TRY(usage->bind(1, size).bind(2, account).run());
      ++removed;
    }
    TRY(tx->commit());
    return removed;
  }

  Result<std::vector<std::vector<CopyResult>>> deliver(std::span<const Delivery> batch) override {
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
        auto blob_row = writer_.cached("INSERT INTO blobs(id, size, refs, pack_id, pack_offset) VALUES(?, ?, 0, ?, ?)");
        TRY(blob_row);
        TRY(blob_row->bind(1, ids[i])
                .bind(2, static_cast<std::int64_t>(d.body.size()))
                .bind(3, static_cast<std::int64_t>(current_pack_.load()))
                .bind(4, static_cast<std::int64_t>(offsets[fresh_of[i]]))
                .run());
      } else if (!d.blob_id.empty()) {  // a file of its own, from put_blob()
        auto blob_row = writer_.cached("INSERT INTO blobs(id, size, refs) VALUES(?, ?, 0) ON CONFLICT(id) DO NOTHING");
        TRY(blob_row);
        TRY(blob_row->bind(1, ids[i]).bind(2, static_cast<std::int64_t>(d.body.size())).run());
      }
      std::int64_t stored = 0;
      for (const auto& c : d.copies) {
        auto r = insert_copy(d, ids[i], c);
        if (r) ++stored;
        // A full mailbox or an account removed since RCPT fails that copy alone. Any other
        // error (I/O, a full disk) fails the whole batch: nothing is committed and every
        // sender gets a temporary failure, rather than a success with a copy missing.
        if (!r && r.error().code != Errc::Quota && r.error().code != Errc::NotFound) return tl::unexpected(r.error());
        results[i].push_back(std::move(r));
      }
      auto refs = writer_.cached("UPDATE blobs SET refs = refs + ? WHERE id = ?");
      TRY(refs);
      TRY(refs->bind(1, stored).bind(2, ids[i]).run());
    }
    TRY(tx->commit());
    if (packs_.end() >= pack_max_) next_pack();
    return results;
  }

  // Appends bodies to the current pack (opening it if needed) and fsyncs them.
  Result<std::vector<std::uint64_t>> append_to_pack(std::span<const std::string_view> bodies) {
    if (!packs_.is_open()) TRY(packs_.open(current_pack_));
    auto appended = packs_.append(bodies);
    if (appended) {
      auto synced = packs_.sync();
      if (!synced) appended = tl::unexpected(synced.error());
    }
    if (!appended) next_pack();  // never append to a pack whose write or sync failed
    return appended;
  }

  // Inside the writer's transaction: the current pack's row (created with its first
  // bodies) gets its new end and `added` more live octets.
  Result<void> record_pack_growth(std::uint64_t added) {
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
  void next_pack() {
    packs_.close();
    ++current_pack_;
  }

  Result<std::string> put_blob(std::string_view body) override {
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

  void unpin(std::span<const Delivery> batch) {
    std::lock_guard l(pin_mu_);
    for (const auto& d : batch) {
      if (d.blob_id.empty()) continue;
      auto it = pinned_.find(d.blob_id);
      if (it != pinned_.end() && --it->second == 0) pinned_.erase(it);
    }
  }

  // Holding pin_mu_ from the decision to the unlink: a put_blob() of the same content
  // either pinned it first (we skip it) or starts after the file is gone (it rewrites it).
  // Bodies in packs are dropped from the metadata; a pack left with no live body is
  // deleted, and one mostly dead is compacted (its live bodies copied to the current
  // pack, then the file deleted).
  Result<std::size_t> collect_garbage() override {
    std::lock_guard lock(write_mu_);
    std::vector<std::string> loose;
    std::vector<std::uint64_t> empty_packs;
    std::size_t removed = 0;
    {
      std::lock_guard pins(pin_mu_);
      auto tx = Tx::begin(writer_);
      TRY(tx);
      struct Dead {
        std::string id;
        std::optional<std::int64_t> pack;
        std::int64_t size;
      };
      std::vector<Dead> dead;
      auto st = writer_.cached("SELECT id, pack_id, size FROM blobs WHERE refs <= 0");
      TRY(st);
      while (true) {
        auto row = st->step();
        TRY(row);
        if (!*row) break;
        auto id = st->str(0);
        if (pinned_.count(id)) continue;  // in flight: next time
        dead.push_back(Dead{std::move(id), st->is_null(1) ? std::nullopt : std::optional(st->i64(1)), st->i64(2)});
      }
      st->reset();
      auto del = writer_.cached("DELETE FROM blobs WHERE id = ? AND refs <= 0");
      TRY(del);
      auto live = writer_.cached("UPDATE packs SET live = live - ? WHERE id = ?");
      TRY(live);
      for (const auto& d : dead) {
        del->reset();
        TRY(del->bind(1, d.id).run());
        if (d.pack) {
          live->reset();
          TRY(live->bind(1, d.size).bind(2, *d.pack).run());
        } else {
          loose.push_back(d.id);
        }
      }
      auto empty = writer_.cached("SELECT id FROM packs WHERE live <= 0 AND id != ?");
      TRY(empty);
      empty->bind(1, static_cast<std::int64_t>(current_pack_.load()));
      while (true) {
        auto row = empty->step();
        TRY(row);
        if (!*row) break;
        empty_packs.push_back(static_cast<std::uint64_t>(empty->i64(0)));
      }
      empty->reset();
      auto drop = writer_.cached("DELETE FROM packs WHERE id = ?");
      TRY(drop);
      for (auto id : empty_packs) {
        drop->reset();
        TRY(drop->bind(1, static_cast<std::int64_t>(id)).run());
      }
      TRY(tx->commit());
      removed = dead.size();
      // Still under pin_mu_: a put_blob() of the same content pinned before this point
      // (its file stays; the delivery recreates the row) or runs after the unlink.
      for (const auto& id : loose)
        if (!pinned_.count(id)) (void)blobs_.remove(id);
    }
    for (auto id : empty_packs) (void)packs_.remove(id);
    auto compacted = compact_packs();
    if (!compacted) log::warn("event=pack_compaction_failed error={}", log::q(compacted.error().detail));
    return removed;
  }

  // Packs other than the current one whose live bodies fill less than half of them.
  Result<void> compact_packs() {
    std::vector<std::uint64_t> sparse;
    {
      auto st = writer_.cached("SELECT id FROM packs WHERE id != ? AND size >= ? AND live * 2 < size ORDER BY id");
      TRY(st);
      st->bind(1, static_cast<std::int64_t>(current_pack_.load())).bind(2, static_cast<std::int64_t>(compact_min_));
      while (true) {
        auto row = st->step();
        TRY(row);
        if (!*row) break;
        sparse.push_back(static_cast<std::uint64_t>(st->i64(0)));
      }
      st->reset();
    }
    // One pack per collection pass, so the writer is never held long; a pack that cannot
    // be compacted (unreadable) is logged and left for the admin, not retried forever.
    for (auto id : sparse) {
      if (failed_compactions_.count(id)) continue;
      auto r = compact_pack(id);
      if (!r) {
        failed_compactions_.insert(id);
        return r;
      }
      break;
    }
    return {};
  }

  Result<void> compact_pack(std::uint64_t old) {
    struct Body {
      std::string id;
      std::uint64_t offset, size;
      std::string bytes;
    };
    std::vector<Body> bodies;
    {
      auto st = writer_.cached("SELECT id, pack_offset, size FROM blobs WHERE pack_id = ?");
      TRY(st);
      st->bind(1, static_cast<std::int64_t>(old));
      while (true) {
        auto row = st->step();
        TRY(row);
        if (!*row) break;
        bodies.push_back(Body{st->str(0), static_cast<std::uint64_t>(st->i64(1)), static_cast<std::uint64_t>(st->i64(2)), {}});
      }
      st->reset();
    }
    std::vector<std::string_view> views;
    std::uint64_t bytes = 0;
    for (auto& b : bodies) {
      auto r = packs_.read(old, b.offset, b.size);
      TRY(r);
      b.bytes = std::move(*r);
      views.push_back(b.bytes);
      bytes += b.size;
    }
    std::vector<std::uint64_t> offsets;
    if (!views.empty()) {
      auto appended = append_to_pack(views);
      TRY(appended);
      offsets = std::move(*appended);
    }
    auto tx = Tx::begin(writer_);
    TRY(tx);
    auto to = static_cast<std::int64_t>(current_pack_.load());
    if (!views.empty()) TRY(record_pack_growth(bytes));
    auto move = writer_.cached("UPDATE blobs SET pack_id = ?, pack_offset = ? WHERE id = ?");
    TRY(move);
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      move->reset();
      TRY(move->bind(1, to).bind(2, static_cast<std::int64_t>(offsets[i])).bind(3, bodies[i].id).run());
    }
    auto drop = writer_.cached("DELETE FROM packs WHERE id = ?");
    TRY(drop);
    TRY(drop->bind(1, static_cast<std::int64_t>(old)).run());
    TRY(tx->commit());
    log::info("event=pack_compacted pack={} bodies={} bytes={} into={}", old, bodies.size(), bytes, to);
    (void)packs_.remove(old);
    if (packs_.end() >= pack_max_) next_pack();
    return {};
  }

  // Runs beside deliveries without stopping them: no writer lock, and the pin lock is
  // held only while one file is judged. A file is garbage when nothing pins it (no
  // write in flight) and no committed row names it; pins are dropped only after the
  // commit, so a fresh read sees the row of any blob that was just delivered.
  Result<std::size_t> sweep_orphans() override {
    auto rd = reader();
    TRY(rd);
    // A body file is garbage when no row names it, or when its row says the body lives
    // in a pack (the same content was packed while this file was being written).
    auto st = rd->db().cached("SELECT 1 FROM blobs WHERE id = ? AND pack_id IS NULL");
    TRY(st);
    std::size_t removed = 0;
    std::optional<Error> failed;
    auto r = blobs_.for_each_file([&](const std::string& name, bool temp_of_dead_writer) {
      if (failed) return;
      if (temp_of_dead_writer) {
        removed += blobs_.remove_file(name) ? 1 : 0;
        return;
      }
      std::lock_guard pins(pin_mu_);
      if (pinned_.count(name)) return;
      st->reset();
      st->bind(1, name);
      auto row = st->step();
      st->reset();  // ends the read transaction: the next file gets a fresh snapshot
      if (!row) {
        failed = row.error();
        return;
      }
      if (!*row && blobs_.remove(name)) ++removed;
    });
    TRY(r);
    if (failed) return tl::unexpected(*failed);
    // Pack files older than the current one that no row knows: created, then the commit
    // naming them never came (a crash).
    auto files = packs_.list();
    TRY(files);
    auto known = rd->db().cached("SELECT 1 FROM packs WHERE id = ?");
    TRY(known);
    for (auto id : *files) {
      if (id >= current_pack_.load()) continue;
      known->reset();
      known->bind(1, static_cast<std::int64_t>(id));
      auto row = known->step();
      known->reset();
      TRY(row);
      if (!*row && packs_.remove(id)) ++removed;
    }
    return removed;
  }

  Result<Stats> stats() override {
    auto rd = reader();
    TRY(rd);
    auto st = rd->db().cached(
        "SELECT (SELECT count(*) FROM blobs), (SELECT coalesce(sum(size), 0) FROM blobs), (SELECT count(*) FROM messages)");
    TRY(st);
    TRY(st->step());
    return Stats{static_cast<std::uint64_t>(st->i64(0)), static_cast<std::uint64_t>(st->i64(1)),
                 static_cast<std::uint64_t>(st->i64(2))};
  }

  // ---------------- plumbing ----------------
  class ReaderLease {
   public:
    ReaderLease(SqliteStore* s, Db db) : s_(s), db_(std::move(db)) {}
    ReaderLease(ReaderLease&& o) noexcept : s_(o.s_), db_(std::move(o.db_)) { o.s_ = nullptr; }
    ~ReaderLease() {
      if (s_) s_->release(std::move(db_));
    }
    Db& db() { return db_; }

   private:
    SqliteStore* s_;
    Db db_;
  };

  Result<ReaderLease> reader() {
    {
      std::lock_guard lock(pool_mu_);
      if (!pool_.empty()) {
        Db db = std::move(pool_.back());
        pool_.pop_back();
        return ReaderLease(this, std::move(db));
      }
    }
    auto db = Db::open(dir_ + "/valija.db");
    TRY(db);
    TRY(db->exec("PRAGMA foreign_keys=ON"));
    return ReaderLease(this, std::move(*db));
  }

  void release(Db db) {
    std::lock_guard lock(pool_mu_);
    if (pool_.size() < 16) pool_.push_back(std::move(db));
  }

 private:
  static MailboxInfo mailbox_from(const Stmt& st) {
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
    return m;
  }

  // RFC 9051 §2.3.1.1: a mailbox recreated under the same name must get a new, larger
  // UIDVALIDITY. A persisted counter, at least the current time, never repeats a value
  // even when an account is removed and re-added within the same second.
  Result<std::int64_t> next_uidvalidity() {
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

  Result<std::int64_t> domain_id(Db& db, const std::string& name) {
    auto st = db.prepare("SELECT id FROM domains WHERE name = ?");
    TRY(st);
    st->bind(1, name);
    auto row = st->step();
    TRY(row);
    if (!*row) return fail(Errc::NotFound, fmt::format("no domain {}", name));
    return st->i64(0);
  }

  Result<void> exec_bound(std::string_view sql, std::int64_t v) {
    auto st = writer_.cached(sql);
    TRY(st);
    return st->bind(1, v).run();
  }

  // Inside the writer's transaction.
  Result<void> delete_account_rows(AccountId id) {
    // Release the blob references of every message, then the rows.
    TRY(exec_bound(
        "UPDATE blobs SET refs = refs - (SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
        "WHERE b.account_id = ?1 AND m.blob_id = blobs.id) WHERE id IN (SELECT m.blob_id FROM messages m "
        "JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?1)",
        id));
    TRY(exec_bound("DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)", id));
    TRY(exec_bound("DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)", id));
    TRY(exec_bound("DELETE FROM mailboxes WHERE account_id = ?", id));
    TRY(exec_bound("DELETE FROM accounts WHERE id = ?", id));
    return {};
  }

  // One copy in a savepoint, so a quota or mailbox failure leaves the others intact.
  CopyResult insert_copy(const Delivery& d, const std::string& blob_id, const Copy& c) {
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

  CopyResult insert_copy_rows(const Delivery& d, const std::string& blob_id, const Copy& c) {
    std::uint64_t size = c.prefix.size() + d.body.size();
    auto acc = writer_.cached("SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM accounts WHERE id = ?");
    TRY(acc);
    acc->bind(1, c.account);
    auto row = acc->step();
    TRY(row);
    if (!*row) return fail(Errc::NotFound, "account no longer exists");
    auto qb = static_cast<std::uint64_t>(acc->i64(0)), qm = static_cast<std::uint64_t>(acc->i64(1));
    auto ub = static_cast<std::uint64_t>(acc->i64(2)), um = static_cast<std::uint64_t>(acc->i64(3));
    if (!c.allow_over_quota && ((qb && ub + size > qb) || (qm && um + 1 > qm)))
      return fail(Errc::Quota, "mailbox full");
    auto mb = writer_.cached(
        "UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1, messages = messages + 1 "
        "WHERE account_id = ? AND name = ? RETURNING id, uidvalidity, uidnext - 1, highest_modseq");
    TRY(mb);
    mb->bind(1, c.account).bind(2, c.mailbox);
    auto mrow = mb->step();
    TRY(mrow);
    if (!*mrow) return fail(Errc::NotFound, fmt::format("no mailbox {}", c.mailbox));
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

  std::string dir_;
  std::mutex write_mu_;
  Db writer_;
  blob::BlobStore blobs_;
  // Packs: appended by the writer (under write_mu_); the current id is read by the
  // orphan sweep, which leaves it and newer ones alone.
  blob::PackFiles packs_;
  std::atomic<std::uint64_t> current_pack_{1};
  std::unordered_set<std::uint64_t> failed_compactions_;  // writer only
  const std::uint64_t pack_max_;     // a new pack after this size
  const std::uint64_t compact_min_;  // smaller packs are not worth compacting
  std::mutex pool_mu_;
  std::vector<Db> pool_;
  std::mutex pin_mu_;
  std::unordered_map<std::string, int> pinned_;
  static constexpr int kCheckpointPages = 1000;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false, ckpt_stop_ = false;
  std::thread ckpt_thread_;  // blobs written by put_blob, not yet delivered
};

}  // namespace

std::string content_id(std::string_view body) { return blob::content_id(body); }

int sqlite_schema_version() { return sqlite::current_version(); }

Result<std::unique_ptr<Store>> open_sqlite(const OpenOptions& o) {
  struct stat st {};
  if (::stat(o.data_dir.c_str(), &st) != 0) {
    if (!o.create) return fail(Errc::NotFound, fmt::format("data dir {} does not exist", o.data_dir));
    if (::mkdir(o.data_dir.c_str(), 0750) != 0 && errno != EEXIST)
      return fail(Errc::Unavailable, fmt::format("cannot create data dir {}: {}", o.data_dir, std::strerror(errno)));
  } else if (!S_ISDIR(st.st_mode)) {
    return fail(Errc::Invalid, fmt::format("{} is not a directory", o.data_dir));
  }
  if (!o.create && ::stat((o.data_dir + "/valija.db").c_str(), &st) != 0)
    return fail(Errc::NotFound, fmt::format("no valija data in {}", o.data_dir));
  auto db = Db::open(o.data_dir + "/valija.db");
  TRY(db);
  TRY(configure(*db));
  TRY(sqlite::migrate(*db));
  auto s = std::make_unique<SqliteStore>(o, std::move(*db));
  TRY(s->init());
  if (o.background_checkpoints) s->start_checkpointer();
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace valija::store
