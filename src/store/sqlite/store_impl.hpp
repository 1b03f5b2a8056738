#pragma once
// The SQLite engine's class, shared by the files that implement it (one per concern:
// sqlite_store.cpp plumbing, directory.cpp, messages.cpp, mailboxes.cpp, imap.cpp,
// gc.cpp). Internal to store/sqlite: nothing outside includes it.
//
// Metadata lives in <data>/valija.db (WAL, synchronous FULL), bodies in <data>/blobs
// and <data>/packs. One writer connection serialises all writes (write_mu_), so a batch
// of deliveries shares one commit; readers use a pool of connections.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "store/blob/blob_store.hpp"
#include "store/blob/pack_files.hpp"
#include "store/sqlite/db.hpp"
#include "store/store.hpp"

namespace valija::store::sqlite {

#define TRY(expr)                                          \
  do {                                                     \
    auto&& _r = (expr);                                    \
    if (!_r) return tl::unexpected(_r.error());            \
  } while (0)

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

MessageInfo message_from(const Stmt& st);
// The columns message_from() reads, for a messages table aliased m.
inline constexpr std::string_view kMessageCols =
    "m.id, m.mailbox_id, m.uid, m.modseq, m.flags, m.internal_date, m.size, m.blob_id, m.trace_id, length(m.prefix)";
MailboxInfo mailbox_from(const Stmt& st);
// The columns mailbox_from() reads, for a mailboxes table aliased b.
extern const std::string kMailboxCols;

// The stored form of a mailbox name: "INBOX" in upper case when it is the first component.
std::string canonical(std::string_view name);

class SqliteStore final : public Store {
 public:
  SqliteStore(const OpenOptions& o, Db writer)
      : dir_(o.data_dir),
        writer_(std::move(writer)),
        blobs_(dir_ + "/blobs"),
        packs_(dir_ + "/packs"),
        pack_max_(o.pack_max),
        compact_min_(o.compact_min) {}
  ~SqliteStore() override;

  Result<void> init();
  void start_checkpointer();

  // directory.cpp
  Result<Domain> add_domain(std::string_view name) override;
  Result<std::vector<Domain>> list_domains() override;
  Result<std::optional<Domain>> find_domain(std::string_view name) override;
  Result<void> remove_domain(std::string_view name, bool force) override;
  Result<Account> add_account(std::string_view local, std::string_view domain, std::string_view hash,
                              std::uint64_t quota_bytes) override;
  Result<std::optional<Account>> find_account(std::string_view local, std::string_view domain) override;
  Result<std::vector<Account>> list_accounts(std::optional<std::string_view> domain) override;
  Result<void> set_password(std::string_view local, std::string_view domain, std::string_view hash) override;
  Result<void> set_apop_secret(std::string_view local, std::string_view domain, std::string_view secret) override;
  Result<void> set_scram(std::string_view local, std::string_view domain, std::string_view sha1,
                         std::string_view sha256) override;
  Result<void> set_quota(std::string_view local, std::string_view domain, std::uint64_t bytes,
                         std::uint64_t messages) override;
  Result<void> remove_account(std::string_view local, std::string_view domain) override;
  Result<void> add_alias(std::string_view local, std::string_view domain,
                         std::span<const std::string> targets) override;
  Result<std::optional<Alias>> find_alias(std::string_view local, std::string_view domain) override;
  Result<std::vector<Alias>> list_aliases(std::optional<std::string_view> domain) override;
  Result<void> remove_alias(std::string_view local, std::string_view domain, std::string_view target) override;
  Result<void> add_dkim_key(const DkimKey& key) override;
  Result<std::vector<DkimKey>> list_dkim_keys(std::optional<std::string_view> domain) override;
  Result<void> set_dkim_key_state(std::string_view domain, std::string_view selector, DkimKeyState state) override;
  Result<void> remove_dkim_key(std::string_view domain, std::string_view selector) override;
  Result<GreylistDecision> greylist(std::string_view triplet, std::int64_t now, const GreylistPolicy& policy) override;

  // messages.cpp
  Result<std::vector<MailboxInfo>> list_mailboxes(AccountId account) override;
  Result<std::optional<MailboxInfo>> find_mailbox(AccountId account, std::string_view name) override;
  Result<std::vector<MessageInfo>> list_messages(MailboxId mailbox) override;
  Result<std::unique_ptr<MessageReader>> open_message(const MessageInfo& m) override;
  Result<std::string> read_message(const MessageInfo& m) override;
  Result<std::size_t> expunge(MailboxId mailbox, std::span<const std::uint32_t> uids) override;
  Result<std::vector<std::vector<CopyResult>>> deliver(std::span<const Delivery> batch) override;
  Result<std::string> put_blob(std::string_view body) override;

  // mailboxes.cpp
  Result<MailboxInfo> create_mailbox(AccountId account, std::string_view name, std::string_view special_use) override;
  Result<void> delete_mailbox(AccountId account, std::string_view name) override;
  Result<void> rename_mailbox(AccountId account, std::string_view from, std::string_view to) override;
  Result<void> set_subscribed(AccountId account, std::string_view name, bool subscribed) override;
  Result<std::vector<std::string>> list_subscriptions(AccountId account) override;
  Result<MailboxCounts> count_messages(MailboxId mailbox) override;

  // imap.cpp
  Result<MailboxChanges> changes_since(MailboxId mailbox, std::uint64_t since, bool want_expunged) override;
  Result<FlagResult> store_flags(MailboxId mailbox, std::span<const std::uint32_t> uids, FlagOp op,
                                 std::string_view flags, std::optional<std::uint64_t> unchanged_since) override;
  Result<CopyOutcome> copy_messages(MailboxId from, std::span<const std::uint32_t> uids, MailboxId to,
                                    bool move) override;
  Result<std::vector<std::uint32_t>> expunge_deleted(MailboxId mailbox,
                                                     std::optional<std::span<const std::uint32_t>> uids) override;
  Result<std::vector<std::string>> message_meta(MailboxId mailbox, std::span<const std::uint32_t> uids) override;
  Result<void> set_message_meta(MailboxId mailbox, std::uint32_t uid, std::string_view meta) override;
  Result<std::uint32_t> claim_recent(MailboxId mailbox) override;
  void set_change_listener(ChangeListener listener) override;
  Result<void> batch(const std::function<void()>& body) override;

  // queue.cpp
  Result<std::vector<QueueEntry>> queue_due(std::int64_t now, std::size_t limit) override;
  Result<std::vector<QueueEntry>> list_queue() override;
  Result<std::optional<QueueEntry>> find_queued(std::int64_t id) override;
  Result<std::unique_ptr<MessageReader>> open_queued(const QueueEntry& entry) override;
  Result<void> update_queue(std::span<const RecipientUpdate> updates) override;
  Result<void> mark_warned(std::int64_t entry) override;
  Result<bool> delete_queued(std::int64_t entry) override;

  // gc.cpp
  Result<std::size_t> collect_garbage() override;
  Result<std::size_t> sweep_orphans() override;

  Result<Stats> stats() override;

  // check.cpp
  Result<CheckReport> check(const CheckOptions& options) override;

 private:
  // A pooled reader connection, returned to the pool when the lease ends.
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
  // A body's place, as the metadata says now.
  struct BodyPlace {
    std::optional<std::uint64_t> pack;
    std::uint64_t offset = 0, size = 0;
  };

  static int on_wal_commit(void* self, sqlite3*, const char*, int pages);
  void checkpoint_loop(Db& db);
  Result<ReaderLease> reader();
  void release(Db db);
  // Tells the listener (outside every lock) what a commit changed.
  void notify(AccountId account, MailboxId mailbox);
  // Commits a writer transaction; the outermost one first syncs the bodies appended to
  // the current pack and writes the pending \Recent claims.
  Result<void> commit_writer(Tx& tx);

  // imap.cpp: \Recent claims (each mailbox's next recent_uid) wait in memory for the next
  // commit of the writer: a claim is no reason for a commit, and an fsync, of its own.
  using RecentClaims = std::vector<std::pair<MailboxId, std::uint32_t>>;
  RecentClaims write_recent_claims();  // under write_mu_, in the outer transaction; what it wrote
  void forget_recent_claims(const RecentClaims& written);  // once that is committed
  std::uint32_t recent_claimed(MailboxId mailbox);         // 0: no claim pending

  // directory.cpp
  Result<std::int64_t> next_uidvalidity();
  Result<std::int64_t> domain_id(Db& db, const std::string& name);
  Result<void> exec_bound(std::string_view sql, std::int64_t v);
  Result<void> delete_account_rows(AccountId id);

  // messages.cpp
  Result<BodyPlace> body_place(std::string_view blob_id);
  // A reader of prefix + the blob's body.
  Result<std::unique_ptr<MessageReader>> open_body(std::string prefix, const std::string& blob_id,
                                                   std::optional<BodyPlace> known = std::nullopt);
  Result<void> verify_body(int fd, std::uint64_t offset, std::uint64_t size, const std::string& blob_id,
                           const std::string& path);
  Result<std::vector<std::vector<CopyResult>>> deliver_locked(std::span<const Delivery> batch,
                                                             std::vector<std::pair<AccountId, MailboxId>>& touched);
  Result<std::vector<std::uint64_t>> append_to_pack(std::span<const std::string_view> bodies);
  Result<void> record_pack_growth(std::uint64_t added);
  void next_pack();
  void unpin(std::span<const Delivery> batch);
  void unpin_ids(const std::vector<std::string>& ids);
  CopyResult insert_copy(const Delivery& d, const std::string& blob_id, const Copy& c);
  CopyResult insert_copy_rows(const Delivery& d, const std::string& blob_id, const Copy& c);
  // Inside the writer's transaction: whether `bytes` and `messages` more fit the account's
  // quota (NotFound when the account is gone); and which account a mailbox belongs to.
  Result<bool> fits_quota(AccountId account, std::uint64_t bytes, std::uint64_t messages);
  Result<AccountId> mailbox_owner(MailboxId mailbox);
  // Inside the writer's transaction: removes one message row (blob reference, usage,
  // expunge log with a new MODSEQ); false when it was not there.
  Result<bool> remove_message(MailboxId mailbox, std::uint32_t uid, bool log_expunge);

  // queue.cpp
  Result<void> enqueue(const Delivery& d, const std::string& blob_id);
  Result<bool> remove_entry(std::int64_t id);

  // mailboxes.cpp
  Result<std::optional<MailboxInfo>> writer_mailbox(AccountId account, std::string_view name);
  Result<MailboxInfo> insert_mailbox(AccountId account, std::string_view name, std::string_view special_use,
                                     bool noselect);
  Result<void> create_parents(AccountId account, std::string_view name);
  Result<void> drop_mailbox_messages(MailboxId mailbox);

  // check.cpp
  friend class Checker;

  // gc.cpp
  Result<void> compact_packs();
  Result<void> compact_pack(std::uint64_t old);

  std::string dir_;
  // Recursive: Store::batch holds it while the operations it runs take it again.
  std::recursive_mutex write_mu_;
  int batch_depth_ = 0;  // under write_mu_
  std::vector<std::pair<AccountId, MailboxId>> deferred_;  // notices held until the batch commits
  std::vector<std::string> deferred_unpins_;               // blobs pinned until the batch commits
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
  std::unordered_map<std::string, int> pinned_;  // blobs written by put_blob, not yet delivered
  // Bodies whose content matched their id since the store was opened (the first 8 octets
  // of the id); each is hashed on its first open only. Emptied when it reaches the bound.
  static constexpr std::size_t kVerifiedMax = 200000;
  std::mutex verified_mu_;
  std::unordered_set<std::uint64_t> verified_;
  static constexpr int kCheckpointPages = 1000;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false, ckpt_stop_ = false;
  std::thread ckpt_thread_;
  std::mutex listener_mu_;
  ChangeListener listener_;
  std::mutex recent_mu_;  // held by a claim from reading recent_uid until it is recorded
  std::unordered_map<MailboxId, std::uint32_t> recent_claims_;
};

}  // namespace valija::store::sqlite
