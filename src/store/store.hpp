#pragma once
// The storage interface (DESIGN.md principle 3). Protocol code sees only this file;
// engines (sqlite/, later postgres/) implement it. Every method is blocking and
// thread-safe: callers on I/O threads run it on the worker pool.
#include <cstdint>
#include <functional>
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
  std::string scram_sha1, scram_sha256;  // SCRAM keys (auth/scram.hpp stored form); empty: none
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
  // A name kept only because mailboxes below it exist (IMAP DELETE of a parent,
  // RFC 3501 §6.3.4): it holds no messages and cannot be selected.
  bool noselect = false;
};

struct MessageInfo {
  std::int64_t id = 0;
  MailboxId mailbox = 0;
  std::uint32_t uid = 0;
  std::uint64_t modseq = 0;
  std::string flags;  // space-separated system flags and keywords
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;   // prefix + body
  std::uint32_t prefix_size = 0;  // the per-copy trace headers before the body
  std::string blob_id;
  std::string trace_id;
};

// One copy of a message for one account's mailbox. The body is shared (one blob);
// the prefix holds the per-recipient trace headers (Return-Path, Delivered-To, Received).
struct Copy {
  AccountId account = 0;
  std::string mailbox = "INBOX";  // or a special use ("\\Junk"): the mailbox that has it, else INBOX
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

// --- the outbound queue ---
// A recipient's state in the queue.
enum class QueueState { Pending = 0, Delivered = 1, Failed = 2, Relayed = 3 };

// RFC 3461 NOTIFY, as bits; none set: the default (failure and delay).
namespace notify {
inline constexpr unsigned kNever = 1, kSuccess = 2, kFailure = 4, kDelay = 8;
}

struct QueuedRecipient {
  std::int64_t id = 0;        // assigned when queued
  std::string address;        // as it goes between < and > in RCPT TO
  std::string domain;         // where it goes (lower case): the grouping key
  std::string orcpt;          // RFC 3461 ORCPT as received ("rfc822;ana@example.org"), or empty
  unsigned notify = 0;        // notify::k* bits
  QueueState state = QueueState::Pending;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // unix time
  std::int64_t last_attempt = 0;  // 0: never tried
  std::string last_reply;         // the remote's last reply, or why there was none
  std::string remote;             // the exchanger that gave it ("mx1.example.org[192.0.2.1]")
};

// The message also goes to these (other domains). Queued with the delivery, in the same
// commit, the body stored once for both.
struct Outbound {
  std::string sender;   // the envelope sender as it will be sent; empty: null (a bounce)
  std::string prefix;   // trace headers sent before the body (Received)
  std::string envid;    // RFC 3461 ENVID (xtext decoded), or empty
  int ret = 0;          // RFC 3461 RET: 0 not given, 1 FULL, 2 HDRS
  bool smtputf8 = false, eight_bit = false, requiretls = false;
  bool binary = false;  // BODY=BINARYMIME (RFC 3030): goes only as BDAT to a server that offers it
  std::string origin;   // who queued it, for the admin: "smtp 192.0.2.7", "submission ana@example.org", "bounce"
  std::vector<QueuedRecipient> rcpts;
};

struct QueueEntry {
  std::int64_t id = 0;
  std::string blob_id;
  std::uint64_t size = 0;  // prefix + body
  std::int64_t created = 0;
  std::string trace_id;
  bool warned = false;     // a delay notice went to the sender
  Outbound message;        // with the recipients asked for
};

// What one attempt decided for one recipient.
struct RecipientUpdate {
  std::int64_t id = 0;
  QueueState state = QueueState::Pending;
  std::int64_t next_attempt = 0;  // when still pending
  std::string last_reply;
  std::string remote;
  bool attempted = true;  // counts as an attempt (false: only rescheduled, e.g. by `queue retry`)
};

struct Delivery {
  std::string_view body;  // the message as received (shared by every copy)
  // Set when put_blob() already stored the body (large bodies, written and fsynced in
  // parallel outside the writer); empty: deliver() stores it in a pack.
  std::string blob_id;
  // content_id(body), when the caller computed it already (off the writer thread, which
  // then only has to store); empty: deliver() computes it.
  std::string content_id;
  // The body's MIME structure as the mail layer encodes it (mail::mime::encode), kept
  // with the body so IMAP answers ENVELOPE, BODYSTRUCTURE and header searches without
  // reading it. Opaque to the store; empty: not computed.
  std::string meta;
  std::int64_t internal_date = 0;
  std::string trace_id;
  std::vector<Copy> copies;
  std::optional<Outbound> outbound;  // recipients in other domains: queued with the copies
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
  // Reads up to `n` octets from `offset` (of prefix + body) without moving the position
  // read() uses; fewer than n only at the end. For IMAP partial fetches.
  virtual Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) = 0;
};

// IMAP STORE (RFC 9051 §6.4.6).
enum class FlagOp { Add, Remove, Replace };

struct FlagChange {
  std::uint32_t uid = 0;
  std::string flags;        // after the change
  std::uint64_t modseq = 0; // the message's MODSEQ after the change
  bool changed = false;     // false: the flags were already so (MODSEQ unchanged)
};

struct FlagResult {
  std::vector<FlagChange> messages;  // every message of the set that exists, in UID order
  // RFC 7162 §3.1.3: messages whose MODSEQ was above UNCHANGEDSINCE, left alone.
  std::vector<std::uint32_t> modified;
  std::uint64_t highest_modseq = 0;
};

// COPY/MOVE (RFC 4315 COPYUID, RFC 6851).
struct CopyOutcome {
  std::uint32_t uidvalidity = 0;  // of the destination
  std::vector<std::pair<std::uint32_t, std::uint32_t>> uids;  // source UID -> new UID, in source order
};

// What changed in a mailbox since a MODSEQ, read in one snapshot (IMAP session
// updates, CONDSTORE/QRESYNC).
struct MailboxChanges {
  MailboxInfo mailbox;
  std::vector<MessageInfo> messages;    // MODSEQ above `since` (new or changed), by UID
  std::vector<std::uint32_t> expunged;  // expunged with MODSEQ above `since`, by UID
};

// STATUS (RFC 9051 §6.3.11, RFC 8438 SIZE).
struct MailboxCounts {
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  std::uint32_t deleted = 0;
  std::uint32_t recent = 0;  // not yet claimed as \Recent by any session
  std::uint64_t size = 0;
};

// --- mail authentication ---
// A DKIM signing key (RFC 6376). Pending keys are published (valija dns-records lists
// them) but do not sign yet, so a new key's record can reach DNS caches before it is
// used; active keys sign; retired keys no longer sign but stay published for a while,
// for messages signed with them that are still on their way.
enum class DkimKeyState { Pending = 0, Active = 1, Retired = 2 };
struct DkimKey {
  std::string domain;
  std::string selector;
  std::string algorithm;    // "rsa-sha256" or "ed25519-sha256"
  std::string private_key;  // PEM
  std::string public_key;   // the record's p= value (base64)
  std::int64_t created = 0;
  DkimKeyState state = DkimKeyState::Pending;
};

// Greylisting: what to do with a (client network, sender, recipient) triplet now.
struct GreylistDecision {
  bool pass = false;
  std::int64_t retry_after = 0;  // seconds until a retry would pass (when !pass)
};
struct GreylistPolicy {
  std::int64_t delay = 300;              // a retry passes after this many seconds
  std::int64_t retry_window = 86400;     // ... and before this many since the first attempt
  std::int64_t pass_lifetime = 36 * 86400;  // a passed triplet is remembered this long after last use
};

// --- consistency check (valija check) ---
// What `Store::check` looks for. Bodies: a message's body missing, shorter than its
// row says, or (deep check) not matching its content address. Counters: values the
// engine keeps beside the rows (blob references, mailbox counts and UIDNEXT/MODSEQ,
// account usage, pack sizes) that disagree with the rows. Orphans: what a crash
// leaves behind (body files no row names, temp files of dead writers).
enum class CheckKind {
  Database,        // the database's own integrity check or a foreign key
  MissingBody,     // a message (or queue entry) whose body file is gone
  ShortBody,       // ... whose body file is shorter than the body
  CorruptBody,     // ... whose body does not hash to its id (deep check)
  MissingBlobRow,  // a message (or queue entry) naming a body the metadata does not know
  MessageSize,     // a message's size is not its prefix plus its body
  BlobRefs,        // a body's reference count differs from the messages and queue entries naming it
  MailboxCounters, // message count, UIDNEXT, HIGHESTMODSEQ or \Recent mark behind the messages
  AccountUsage,    // quota usage (bytes, messages) differs from the messages
  PackCounters,    // a pack's size or live octets differ from its bodies, or its row is missing
  OrphanFile,      // a body file or pack file no row refers to
  TempFile,        // a temp file of a writer that died
};
std::string_view check_kind_name(CheckKind kind);

struct CheckProblem {
  CheckKind kind = CheckKind::Database;
  std::string message;  // names the account, mailbox and UID, or the file
  bool repaired = false;
  MailboxId mailbox = 0;  // the message concerned, when there is one
  std::uint32_t uid = 0;
};

struct CheckOptions {
  // Removes orphans and sets counters to what the rows say. Messages whose body is
  // missing or damaged are only reported (never deleted). The caller makes sure no
  // other process writes the data dir meanwhile (valija check takes the server's lock).
  bool repair = false;
  bool deep = false;  // also read every body and compare it with its content address
  // Without repair (a server may be writing): a body file or pack no row names yet is
  // taken for a write in flight while younger than this many seconds.
  std::int64_t in_flight_grace = 60;
  // Called with each problem as it is found (and, with repair, after it was repaired).
  std::function<void(const CheckProblem&)> on_problem;
};

struct CheckReport {
  std::uint64_t messages = 0;  // message rows and queue entries checked
  std::uint64_t bodies = 0;    // blob rows checked
  std::uint64_t files = 0;     // body, pack and temp files looked at
  std::uint64_t problems = 0;
  std::uint64_t repaired = 0;
  std::vector<CheckProblem> listed;  // the first kCheckListed problems
};
inline constexpr std::size_t kCheckListed = 1000;

// Called after a commit that changed messages or flags in a mailbox, or mailboxes of an
// account (mailbox = 0), on the committing thread, outside every store lock. Must be quick
// and must not call back into the store.
using ChangeListener = std::function<void(AccountId account, MailboxId mailbox)>;

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
  // Also removes the SCRAM keys (they belong to the old password): set_scram() follows.
  virtual Result<void> set_password(std::string_view local, std::string_view domain, std::string_view hash) = 0;
  // SCRAM keys (auth/scram.hpp stored form), set with each new password.
  virtual Result<void> set_scram(std::string_view local, std::string_view domain, std::string_view sha1,
                                 std::string_view sha256) = 0;
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

  // --- mail authentication ---
  // NotFound without the domain; Exists when it has the selector already.
  virtual Result<void> add_dkim_key(const DkimKey& key) = 0;
  // Every key of the domain (all domains when empty), by domain then creation.
  virtual Result<std::vector<DkimKey>> list_dkim_keys(std::optional<std::string_view> domain) = 0;
  virtual Result<void> set_dkim_key_state(std::string_view domain, std::string_view selector, DkimKeyState state) = 0;
  virtual Result<void> remove_dkim_key(std::string_view domain, std::string_view selector) = 0;
  // Records the attempt and decides (durably: a restart does not greylist again); drops
  // entries older than the policy allows on the way.
  virtual Result<GreylistDecision> greylist(std::string_view triplet, std::int64_t now, const GreylistPolicy& policy) = 0;

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

  // --- IMAP: mailboxes (names are UTF-8, "/" the hierarchy delimiter, "INBOX" any case) ---
  // Creates the mailbox and any missing parents (RFC 9051 §6.3.4). Exists when it
  // exists already, unless it was \Noselect: then it becomes a real mailbox again.
  virtual Result<MailboxInfo> create_mailbox(AccountId account, std::string_view name,
                                             std::string_view special_use) = 0;
  // Removes the mailbox and its messages. With mailboxes below it, it stays as \Noselect
  // (RFC 3501 §6.3.4); a \Noselect one with children is refused (Exists); INBOX is
  // refused (Permission).
  virtual Result<void> delete_mailbox(AccountId account, std::string_view name) = 0;
  // Renames the mailbox and those below it, creating missing parents of the new name.
  // INBOX: its messages move to a new mailbox of that name, INBOX stays (RFC 3501 §6.3.5).
  virtual Result<void> rename_mailbox(AccountId account, std::string_view from, std::string_view to) = 0;
  // Subscriptions are names: they may name no mailbox (RFC 9051 §6.3.7).
  virtual Result<void> set_subscribed(AccountId account, std::string_view name, bool subscribed) = 0;
  virtual Result<std::vector<std::string>> list_subscriptions(AccountId account) = 0;
  virtual Result<MailboxCounts> count_messages(MailboxId mailbox) = 0;

  // --- IMAP: messages ---
  // Messages with MODSEQ above `since` and, when want_expunged, the UIDs expunged since.
  // NotFound when the mailbox is gone.
  virtual Result<MailboxChanges> changes_since(MailboxId mailbox, std::uint64_t since, bool want_expunged) = 0;
  // Changes the flags of the messages with these UIDs, each changed one getting a new
  // MODSEQ; with unchanged_since, messages whose MODSEQ is above it are left alone.
  // Flags are space-separated; system flags are matched case-insensitively.
  virtual Result<FlagResult> store_flags(MailboxId mailbox, std::span<const std::uint32_t> uids, FlagOp op,
                                         std::string_view flags, std::optional<std::uint64_t> unchanged_since) = 0;
  // Copies (or moves) these messages to another mailbox of the same account, all or
  // nothing: Quota when the copies do not fit (a move within the account always fits).
  virtual Result<CopyOutcome> copy_messages(MailboxId from, std::span<const std::uint32_t> uids, MailboxId to,
                                            bool move) = 0;
  // Expunges the messages flagged \Deleted (only those with these UIDs, when given).
  // Returns the UIDs removed.
  virtual Result<std::vector<std::uint32_t>> expunge_deleted(MailboxId mailbox,
                                                             std::optional<std::span<const std::uint32_t>> uids) = 0;
  // The cached structure (Delivery::meta) of these messages' bodies, in order; empty
  // where none was computed or the message is gone.
  virtual Result<std::vector<std::string>> message_meta(MailboxId mailbox, std::span<const std::uint32_t> uids) = 0;
  // Caches a structure computed later (messages stored before it existed). Not synced:
  // a cache entry lost in a crash is computed again.
  virtual Result<void> set_message_meta(MailboxId mailbox, std::uint32_t uid, std::string_view meta) = 0;
  // \Recent (RFC 3501 §2.3.2): the first UID not yet shown as recent to any session;
  // advances it to UIDNEXT. Not synced (losing a claim in a crash is harmless).
  virtual Result<std::uint32_t> claim_recent(MailboxId mailbox) = 0;
  virtual void set_change_listener(ChangeListener listener) = 0;

  // Runs `body`, whose store writes then share one transaction and one durable commit
  // (group commit for IMAP's STORE, COPY, EXPUNGE... across sessions). Each write inside
  // still succeeds or fails on its own (a savepoint); the outer Result says whether the
  // commit made them durable. Change notices follow the commit. Thread-safe; writes of
  // other threads wait.
  virtual Result<void> batch(const std::function<void()>& body) = 0;

  // Stores the body once and every copy, durably (blob fsynced, metadata committed)
  // before returning. Several deliveries share one commit (group commit). Results are
  // per delivery, per copy, in order. The outer Result fails only when nothing was stored.
  virtual Result<std::vector<std::vector<CopyResult>>> deliver(std::span<const Delivery> batch) = 0;

  // --- the outbound queue (Delivery::outbound puts messages in) ---
  // Entries with a pending recipient due at `now` (only those recipients), oldest first.
  virtual Result<std::vector<QueueEntry>> queue_due(std::int64_t now, std::size_t limit) = 0;
  // Every entry, with every recipient (finished ones too, until the entry goes).
  virtual Result<std::vector<QueueEntry>> list_queue() = 0;
  virtual Result<std::optional<QueueEntry>> find_queued(std::int64_t id) = 0;
  // The message as it is sent: prefix then body.
  virtual Result<std::unique_ptr<MessageReader>> open_queued(const QueueEntry& entry) = 0;
  // Records an attempt's outcome. An entry left without pending recipients is removed
  // (its body reference released), so call this in the same batch as the notices
  // (delivery reports) the outcome calls for. Unknown ids are skipped.
  virtual Result<void> update_queue(std::span<const RecipientUpdate> updates) = 0;
  // The delay notice for this entry has gone out.
  virtual Result<void> mark_warned(std::int64_t entry) = 0;
  // Removes the entry whatever its state (admin); false when it was not there.
  virtual Result<bool> delete_queued(std::int64_t entry) = 0;

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
  // Verifies the metadata against the bodies (and, with options.repair, repairs what
  // can be repaired without losing mail). Safe beside a running server without repair.
  // Engines that cannot check themselves fail with Unavailable.
  virtual Result<CheckReport> check(const CheckOptions& options) = 0;
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
