#pragma once
// The selected mailbox as one session sees it (RFC 9051 §2.3.1.2: sequence numbers are
// the session's own). Changes made elsewhere (deliveries, other sessions, POP3) are
// absorbed from the store as they happen and announced to the client only where the
// protocol allows: EXISTS and flag FETCHes with any response, EXPUNGE/VANISHED only when
// the command in progress permits it (RFC 9051 §7.5.1: never during FETCH, STORE or
// SEARCH by sequence number), so a sequence number the client holds stays valid until
// then. Pure: the session reads the store and feeds the results in.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace valija::imap::server {

struct ViewMessage {
  store::MessageInfo info;
  bool recent = false;         // \Recent for this session (IMAP4rev1 only)
  bool expunged = false;       // gone from the store, EXPUNGE not yet sent
  bool flags_pending = false;  // changed elsewhere, FETCH FLAGS not yet sent
};

struct AnnounceOptions {
  bool expunges = true;  // EXPUNGE/VANISHED may be sent now
  bool vanished = false; // QRESYNC enabled: VANISHED instead of EXPUNGE (RFC 7162 §3.2.10)
  bool modseq = false;   // CONDSTORE enabled: MODSEQ in flag FETCHes (RFC 7162 §3.1.4)
  bool uid = false;      // UID in flag FETCHes (QRESYNC requires it, RFC 7162 §3.2.4)
  bool recent = true;    // IMAP4rev1: \Recent counts and flags (not under IMAP4rev2)
};

class MailboxView {
 public:
  // SELECT: the whole mailbox (changes since MODSEQ 0); UIDs from recent_from on are
  // \Recent for this session.
  void reset(store::MailboxChanges all, std::uint32_t recent_from);
  // Changes read from the store since highest_modseq(). New messages with UIDs from
  // recent_from on are \Recent here.
  void absorb(const store::MailboxChanges& changes, std::uint32_t recent_from);
  // Writes the pending untagged responses (EXPUNGE or VANISHED, EXISTS, RECENT, FETCH).
  void announce(std::string& out, const AnnounceOptions& opts);
  // Removes messages this session expunged itself (their EXPUNGE/VANISHED is written by
  // the caller's command: `out` gets them here in the right form).
  void expunged_by_us(std::span<const std::uint32_t> uids, std::string& out, const AnnounceOptions& opts);
  // Flags this session changed (STORE, the \Seen of a FETCH): no unsolicited FETCH later.
  void flags_by_us(std::uint32_t uid, const std::string& flags, std::uint64_t modseq);

  // What the client knows: messages it was told of (EXISTS), expunged or not.
  std::uint32_t exists() const { return announced_; }
  // Message at sequence number seq (1..exists()).
  const ViewMessage& at(std::uint32_t seq) const { return messages_[seq - 1]; }
  std::optional<std::uint32_t> seq_of(std::uint32_t uid) const;
  // The UIDs the client knows, ascending (for resolving UID sets).
  std::span<const std::uint32_t> uids() const { return std::span(uids_).first(announced_); }
  std::uint32_t recent_count() const;

  const store::MailboxInfo& info() const { return info_; }
  std::uint64_t highest_modseq() const { return info_.highest_modseq; }
  bool has_pending() const { return pending_; }

 private:
  void drop_expunged(std::string& out, const AnnounceOptions& opts);

  store::MailboxInfo info_;
  std::vector<ViewMessage> messages_;  // by UID; [announced_, size) not yet announced
  std::vector<std::uint32_t> uids_;    // parallel to messages_
  std::uint32_t announced_ = 0;
  std::uint32_t announced_recent_ = 0;
  bool pending_ = false;
};

// The flags as the client sees them: stored flags, plus \Recent under IMAP4rev1.
void write_flags(std::string& out, const ViewMessage& m, bool recent);

// Stored flags are one space-separated string (store::MessageInfo::flags).
template <class F>
void for_each_flag(std::string_view flags, F&& f) {
  for (std::size_t i = 0; i < flags.size();) {
    auto end = flags.find(' ', i);
    if (end == std::string_view::npos) end = flags.size();
    if (end > i) f(flags.substr(i, end - i));
    i = end + 1;
  }
}
// Flags compare case-insensitively (RFC 9051 §2.3.2).
bool has_flag(std::string_view flags, std::string_view flag);

}  // namespace valija::imap::server
