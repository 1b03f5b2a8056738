#pragma once
// The storage interface (DESIGN.md principle 3). Protocol code sees only this file;
// engines (sqlite/, later postgres/) implement it. Every method is blocking and
// thread-safe: callers on I/O threads run it on the worker pool.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace valija::store {

using AccountId = std::int64_t;
using MailboxId = std::int64_t;

struct Domain {
  std::int64_t id = 0;
  std::string name;
  std::int64_t created = 0;
};

struct Account {
  AccountId id = 0;
  std::string local;
  std::string domain;
  std::string password_hash;
  std::string apop_secret;           // empty: no APOP for this account
  std::uint64_t quota_bytes = 0;     // 0: unlimited
  std::uint64_t quota_messages = 0;  // 0: unlimited
  std::uint64_t used_bytes = 0;
  std::uint64_t used_messages = 0;
  std::int64_t created = 0;
  std::string address() const { return local + "@" + domain; }
};

// An alias maps local@domain (or @domain: the catch-all) to targets: local accounts,
// other aliases, or external addresses.
struct Alias {
  std::string local;  // empty for the domain's catch-all
  std::string domain;
  std::vector<std::string> targets;
  std::string source() const { return local + "@" + domain; }
};

struct MailboxInfo {
  MailboxId id = 0;
  AccountId account = 0;
  std::string name;
  std::string special_use;  // "\\Sent" etc. (RFC 6154), empty for none
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t highest_modseq = 1;
  std::uint32_t messages = 0;
  bool subscribed = true;
};

struct MessageInfo {
  std::int64_t id = 0;
  MailboxId mailbox = 0;
  std::uint32_t uid = 0;
  std::uint64_t modseq = 0;
  std::string flags;  // space-separated system flags and keywords
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;   // prefix + body
  std::string blob_id;
  std::string trace_id;
};

// One copy of a message for one account's mailbox. The body is shared (one blob);
// the prefix holds the per-recipient trace headers (Return-Path, Delivered-To, Received).
struct Copy {
  AccountId account = 0;
  std::string mailbox = "INBOX";
  std::string prefix;
  std::string flags;
  bool allow_over_quota = false;  // quota grace for multi-recipient SMTP transactions
};

// A body's id: the lower-case hex SHA-256 of its octets.
std::string content_id(std::string_view body);

// Bodies up to this size are best left to deliver(), which appends a batch's bodies to a
// pack file with one fsync; larger ones are written beforehand, in parallel, by
// put_blob() as files of their own (a big body would hold up the writer).
inline constexpr std::size_t kPackedBodyMax = 256 * 1024;

struct Delivery {
  std::string_view body;  // the message as received (shared by every copy)
  // Set when put_blob() already stored the body (large bodies, written and fsynced in
  // parallel outside the writer); empty: deliver() stores it in a pack.
  std::string blob_id;
  // content_id(body), when the caller computed it already (off the writer thread, which
  // then only has to store); empty: deliver() computes it.
  std::string content_id;
  std::int64_t internal_date = 0;
  std::string trace_id;
  std::vector<Copy> copies;
};

struct Delivered {
  MailboxId mailbox = 0;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
};

// Per copy: where it went, or why it could not be stored.
using CopyResult = Result<Delivered>;

struct Stats {
  std::uint64_t blobs = 0;
  std::uint64_t blob_bytes = 0;
  std::uint64_t messages = 0;
};

// A message read in pieces (prefix, then body), so a large one is never held whole. The
// body's file stays open in the reader: a collection or compaction that runs meanwhile
// cannot take it away mid-read.
class MessageReader {
 public:
  virtual ~MessageReader() = default;
  virtual std::uint64_t size() const = 0;  // prefix + body
  // Reads up to `n` octets into `buf`; 0 at the end.
  virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- directory ---
  virtual Result<Domain> add_domain(std::string_view name) = 0;
  virtual Result<std::vector<Domain>> list_domains() = 0;
  virtual Result<std::optional<Domain>> find_domain(std::string_view name) = 0;
  // Refuses while accounts or aliases exist, unless force (then removes them and their mail).
  virtual Result<void> remove_domain(std::string_view name, bool force) = 0;

  // Creates the account with INBOX, Sent, Drafts, Trash, Junk and Archive.
  virtual Result<Account> add_account(std::string_view local, std::string_view domain,
                                      std::string_view password_hash, std::uint64_t quota_bytes) = 0;
  virtual Result<std::optional<Account>> find_account(std::string_view local, std::string_view domain) = 0;
  virtual Result<std::vector<Account>> list_accounts(std::optional<std::string_view> domain) = 0;
  virtual Result<void> set_password(std::string_view local, std::string_view domain, std::string_view hash) = 0;
  // The APOP shared secret (stored as given: APOP cannot work otherwise); empty removes it.
  virtual Result<void> set_apop_secret(std::string_view local, std::string_view domain, std::string_view secret) = 0;
  virtual Result<void> set_quota(std::string_view local, std::string_view domain, std::uint64_t bytes,
                                 std::uint64_t messages) = 0;
  // Removes the account, its mailboxes and messages (blob references released).
  virtual Result<void> remove_account(std::string_view local, std::string_view domain) = 0;

  // Adds targets to the alias (creating it); local empty = catch-all.
  virtual Result<void> add_alias(std::string_view local, std::string_view domain,
                                 std::span<const std::string> targets) = 0;
  virtual Result<std::optional<Alias>> find_alias(std::string_view local, std::string_view domain) = 0;
  virtual Result<std::vector<Alias>> list_aliases(std::optional<std::string_view> domain) = 0;
  // Removes one target, or the whole alias when target is empty.
  virtual Result<void> remove_alias(std::string_view local, std::string_view domain, std::string_view target) = 0;

  // --- mailboxes and messages ---
  virtual Result<std::vector<MailboxInfo>> list_mailboxes(AccountId account) = 0;
  virtual Result<std::optional<MailboxInfo>> find_mailbox(AccountId account, std::string_view name) = 0;
  virtual Result<std::vector<MessageInfo>> list_messages(MailboxId mailbox) = 0;
  // The whole message: stored prefix followed by the body blob.
  virtual Result<std::string> read_message(const MessageInfo& message) = 0;
  // NotFound when the message is gone (expunged meanwhile); Corrupt when its body is.
  virtual Result<std::unique_ptr<MessageReader>> open_message(const MessageInfo& message) = 0;
  // Removes these messages (by UID) from the mailbox in one durable commit: each gets a
  // new MODSEQ in the expunge log (for IMAP's VANISHED and QRESYNC), the account's usage
  // and the blob references drop. UIDs already gone are skipped. Returns how many went.
  virtual Result<std::size_t> expunge(MailboxId mailbox, std::span<const std::uint32_t> uids) = 0;

  // Stores the body once and every copy, durably (blob fsynced, metadata committed)
  // before returning. Several deliveries share one commit (group commit). Results are
  // per delivery, per copy, in order. The outer Result fails only when nothing was stored.
  virtual Result<std::vector<std::vector<CopyResult>>> deliver(std::span<const Delivery> batch) = 0;

  // Writes a body durably (file and directory fsynced) and returns its id. Thread-safe
  // and meant to run concurrently; the blob is protected from garbage collection until
  // a deliver() naming it has run.
  virtual Result<std::string> put_blob(std::string_view body) = 0;

  // Deletes blob files whose last reference is gone. Runs in the writer.
  virtual Result<std::size_t> collect_garbage() = 0;
  // Removes what a crash can leave behind: temp files of dead writers and body files
  // no message refers to. Safe while deliveries run.
  virtual Result<std::size_t> sweep_orphans() = 0;
  virtual Result<Stats> stats() = 0;
};

struct OpenOptions {
  std::string data_dir;
  bool create = true;  // create the data dir and schema when missing
  // Long-running processes (the server) move WAL checkpoints off the writer.
  bool background_checkpoints = false;
  // Pack files: a new one starts past pack_max octets; a full one whose live bodies fill
  // less than half of it is compacted when at least compact_min octets.
  std::uint64_t pack_max = 64ull << 20;
  std::uint64_t compact_min = 1ull << 20;
};

// Opens the embedded engine (SQLite + blob files) in data_dir.
Result<std::unique_ptr<Store>> open_sqlite(const OpenOptions& options);

// The schema version this build knows; the store refuses newer ones.
int sqlite_schema_version();

}  // namespace valija::store
