#pragma once
// One IMAP session's state and commands (RFC 9051, RFC 3501 and the extensions of
// docs/imap.md): everything that happens once the connection has read and parsed a
// command. It runs on a worker thread (the store blocks) and does no socket I/O, so
// tests drive it directly; the connection (connection.cpp) keeps the exchanges that
// need the client between steps: LOGIN and AUTHENTICATE, STARTTLS, IDLE, LOGOUT.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "imap/proto/command.hpp"
#include "imap/proto/mailbox_name.hpp"
#include "imap/server/mailbox_view.hpp"
#include "imap/server/message_source.hpp"
#include "store/store.hpp"

namespace valija::imap::server {

// What a command writes: response text, and slices of stored messages the connection
// streams in at their places, so a large literal is never built in memory.
struct Output {
  struct Slice {
    std::size_t at = 0;  // where in `text` the slice's octets go
    // Opened while the command ran, so the octets stay readable even if the message is
    // expunged before they are sent.
    std::shared_ptr<store::MessageReader> reader;
    std::uint64_t offset = 0, length = 0;
  };
  std::string text;
  std::vector<Slice> slices;
};

struct SessionConfig {
  std::string hostname = "localhost";
  bool starttls = false;         // STARTTLS offered: a cleartext listener with a certificate
  bool tls = false;              // TLS is active (implicit TLS, or after STARTTLS)
  bool cleartext_login = false;  // LOGIN and AUTHENTICATE PLAIN allowed without TLS
  proto::ParserLimits limits;
  // FETCH BODY[...] literals up to this size are read while the command runs, as long as
  // the command's inline data stays under inline_total; others are streamed from the
  // store as slices (so FETCH 1:* BODY[] never builds the mailbox in memory).
  std::uint64_t inline_literal = 256 * 1024;
  std::uint64_t inline_total = 1024 * 1024;
};

// APPEND stores through the server's group commit (one fsync shared with concurrent
// deliveries), not the store directly. Blocks until durable.
using Appender = std::function<store::CopyResult(store::Delivery delivery)>;
// STORE, COPY, MOVE and EXPUNGE run their store write through this: the server's writer
// runs it inside its next batch, so concurrent sessions share one commit (and fsync).
// Blocks until the batch is committed; the Result says whether it was. Empty: the
// write runs here, with its own commit.
using Writer = std::function<Result<void>(const std::function<void()>& write)>;

enum class Phase { NotAuthenticated, Authenticated, Selected, Logout };

// How a command completed: the tagged response (RFC 9051 §7.1), written after the
// untagged updates the session owes the client.
struct Done {
  enum class Kind { Ok, No, Bad };
  Kind kind = Kind::Ok;
  std::string code;  // response code without brackets, e.g. "READ-WRITE", "TRYCREATE"
  std::string text;
  static Done ok(std::string text = "done", std::string code = {}) { return {Kind::Ok, std::move(code), std::move(text)}; }
  static Done no(std::string code, std::string text) { return {Kind::No, std::move(code), std::move(text)}; }
  static Done bad(std::string text, std::string code = {}) { return {Kind::Bad, std::move(code), std::move(text)}; }
};

class Session {
 public:
  Session(SessionConfig config, store::Store& store, Appender append, Writer writer = {});

  // The greeting's and CAPABILITY's list for the current phase (RFC 9051 §7.2.2).
  std::string capabilities() const;
  Phase phase() const { return phase_; }
  bool login_allowed() const { return config_.tls || config_.cleartext_login; }
  // The TLS session has channel bindings: SCRAM -PLUS is offered.
  void set_channel_binding(bool available) { channel_binding_ = available; }
  const proto::ParserLimits& limits() const { return config_.limits; }
  bool utf8() const { return utf8_; }
  void tls_started() { config_.tls = true; config_.starttls = false; }
  // The connection verified the credentials (LOGIN or AUTHENTICATE).
  void logged_in(const store::Account& account) {
    account_ = account;
    phase_ = Phase::Authenticated;
  }
  const store::Account& account() const { return account_; }
  void logout() { phase_ = Phase::Logout; }
  std::optional<store::MailboxId> selected_id() const;

  // Runs one command other than the connection's own; writes every response line,
  // the tagged one last.
  void execute(const proto::Command& cmd, Output& out);
  // The untagged updates a client in IDLE gets (RFC 2177 §3).
  void idle_updates(Output& out);
  // The store changed something of this account (the notifier; any thread).
  // Raised by other threads (Watchers) when the account's mail changed; the next command
  // (or IDLE) reads what changed.
  std::atomic<bool>* change_flag() { return &changed_; }

 private:
  using Handler = Done (Session::*)(const proto::Command&, Output&);
  struct Spec;
  static const Spec* find_spec(proto::Verb verb);

  // session.cpp: shared steps
  // A store error as NO with the fitting response code (RFC 9051 §7.1).
  static Done failed(const Error& e);
  // Reads what changed since the view's MODSEQ and writes the announcements allowed now.
  void sync(Output& out, bool expunges_allowed);
  AnnounceOptions announce_options(bool expunges) const;
  // A mailbox argument → normalised UTF-8 name, or how to refuse it.
  tl::expected<std::string, Done> mailbox_arg(const std::string& wire, bool creating) const;
  // The messages a sequence set names, as sequence numbers (ascending).
  std::vector<std::uint32_t> resolve(const proto::SequenceSet& set, bool uid) const;
  // RFC 9051 §7.1: a sequence number beyond the mailbox is a client error (BAD).
  bool seqs_valid(const proto::SequenceSet& set) const;
  // Runs a store write through the writer (group commit) and returns its result, or the
  // commit's failure.
  template <class F>
  auto write(F f) -> decltype(f()) {
    if (!writer_) return f();
    decltype(f()) result = fail(Errc::Internal, "write not run");
    auto committed = writer_([&] { result = f(); });
    if (!committed) return tl::unexpected(committed.error());
    return result;
  }

  // cmd_misc.cpp
  Done cmd_capability(const proto::Command&, Output&);
  Done cmd_noop(const proto::Command&, Output&);
  Done cmd_enable(const proto::Command&, Output&);
  Done cmd_id(const proto::Command&, Output&);
  Done cmd_namespace(const proto::Command&, Output&);
  Done cmd_getquota(const proto::Command&, Output&);
  Done cmd_getquotaroot(const proto::Command&, Output&);
  Done cmd_setquota(const proto::Command&, Output&);
  void write_quota(Output& out);

  // cmd_mailbox.cpp
  Done cmd_select(const proto::Command&, Output&);
  Done cmd_create(const proto::Command&, Output&);
  Done cmd_delete(const proto::Command&, Output&);
  Done cmd_rename(const proto::Command&, Output&);
  Done cmd_subscribe(const proto::Command&, Output&);
  Done cmd_list(const proto::Command&, Output&);
  Done cmd_lsub(const proto::Command&, Output&);
  std::optional<proto::ListPattern> list_pattern(const std::string& reference, const std::string& pattern) const;
  Done cmd_status(const proto::Command&, Output&);
  std::optional<Error> write_status(Output& out, const store::MailboxInfo& mb, std::uint16_t items);
  void qresync_select(const proto::cmd::Qresync& q, Output& out);

  // cmd_message.cpp
  Done cmd_append(const proto::Command&, Output&);
  Done cmd_check(const proto::Command&, Output&);
  Done cmd_close(const proto::Command&, Output&);
  Done cmd_expunge(const proto::Command&, Output&);
  Done cmd_store(const proto::Command&, Output&);
  Done cmd_copy(const proto::Command&, Output&);

  // cmd_fetch.cpp, cmd_search.cpp
  Done cmd_fetch(const proto::Command&, Output&);
  Done cmd_search(const proto::Command&, Output&);

  SessionConfig config_;
  store::Store& store_;
  Appender append_;
  Writer writer_;
  Phase phase_ = Phase::NotAuthenticated;
  store::Account account_;
  // Selected state
  MailboxView view_;
  PartCache parts_;  // structures decoded in this selection
  bool read_only_ = false;
  std::optional<std::vector<std::uint32_t>> saved_;  // SEARCHRES "$" (RFC 5182): UIDs
  // ENABLEd extensions (RFC 5161) and their implicit enabling (RFC 7162 §3.1).
  bool rev2_ = false, utf8_ = false, condstore_ = false, qresync_ = false;
  bool channel_binding_ = false;
  std::atomic<bool> changed_{true};
};

}  // namespace valija::imap::server
