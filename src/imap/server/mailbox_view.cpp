#include "imap/server/mailbox_view.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.hpp"
#include "imap/proto/sequence_set.hpp"

namespace valija::imap::server {

void write_flags(std::string& out, const ViewMessage& m, bool recent) {
  out += '(';
  out += m.info.flags;
  if (recent && m.recent) {
    if (!m.info.flags.empty()) out += ' ';
    out += "\\Recent";
  }
  out += ')';
}

bool has_flag(std::string_view flags, std::string_view flag) {
  bool found = false;
  for_each_flag(flags, [&](std::string_view f) { found = found || text::iequals(f, flag); });
  return found;
}

void MailboxView::reset(store::MailboxChanges all, std::uint32_t recent_from) {
  info_ = std::move(all.mailbox);
  messages_.clear();
  uids_.clear();
  messages_.reserve(all.messages.size());
  uids_.reserve(all.messages.size());
  for (auto& m : all.messages) {
    uids_.push_back(m.uid);
    bool recent = m.uid >= recent_from;
    messages_.push_back(ViewMessage{std::move(m), recent, false, false});
  }
  announced_ = static_cast<std::uint32_t>(messages_.size());
  announced_recent_ = recent_count();
  pending_ = false;
}

std::optional<std::uint32_t> MailboxView::seq_of(std::uint32_t uid) const {
  auto end = uids_.begin() + announced_;
  auto it = std::lower_bound(uids_.begin(), end, uid);
  if (it == end || *it != uid) return std::nullopt;
  return static_cast<std::uint32_t>(it - uids_.begin()) + 1;
}

std::uint32_t MailboxView::recent_count() const {
  return static_cast<std::uint32_t>(
      std::count_if(messages_.begin(), messages_.begin() + announced_, [](const ViewMessage& m) { return m.recent; }));
}

void MailboxView::absorb(const store::MailboxChanges& changes, std::uint32_t recent_from) {
  auto last_uid = uids_.empty() ? 0 : uids_.back();
  for (const auto& m : changes.messages) {
    if (m.uid > last_uid) {  // new (UIDs only grow)
      uids_.push_back(m.uid);
      messages_.push_back(ViewMessage{m, m.uid >= recent_from, false, false});
      last_uid = m.uid;
      pending_ = true;
      continue;
    }
    auto it = std::lower_bound(uids_.begin(), uids_.end(), m.uid);
    if (it == uids_.end() || *it != m.uid) continue;  // expunged by this session meanwhile
    auto& v = messages_[static_cast<std::size_t>(it - uids_.begin())];
    if (v.expunged || v.info.modseq >= m.modseq) continue;  // already known (our own change)
    bool flags_changed = v.info.flags != m.flags;
    v.info.flags = m.flags;
    v.info.modseq = m.modseq;
    if (flags_changed) {
      v.flags_pending = true;
      pending_ = true;
    }
  }
  for (auto uid : changes.expunged) {
    auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
    if (it == uids_.end() || *it != uid) continue;
    messages_[static_cast<std::size_t>(it - uids_.begin())].expunged = true;
    pending_ = true;
  }
  auto uidvalidity = info_.uidvalidity;
  info_ = changes.mailbox;
  info_.uidvalidity = uidvalidity;  // a mailbox keeps its UIDVALIDITY while selected
}

// RFC 9051 §7.5.1: each EXPUNGE renumbers the messages after it, so they go out in
// ascending order with the number each has at that moment.
void MailboxView::drop_expunged(std::string& out, const AnnounceOptions& opts) {
  proto::IdSet vanished;
  std::uint32_t removed = 0, seq = 0;
  std::size_t keep = 0;
  std::uint32_t new_announced = announced_;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    ++seq;
    if (messages_[i].expunged) {
      if (i < announced_) {
        if (opts.vanished) vanished.add(messages_[i].info.uid);
        else out += fmt::format("* {} EXPUNGE\r\n", seq - removed);
        ++removed;
        --new_announced;
      }
      continue;  // an unannounced message that is already gone is never mentioned
    }
    if (keep != i) {
      messages_[keep] = std::move(messages_[i]);
      uids_[keep] = uids_[i];
    }
    ++keep;
  }
  if (!vanished.empty()) out += fmt::format("* VANISHED {}\r\n", vanished.to_string());
  messages_.resize(keep);
  uids_.resize(keep);
  announced_ = new_announced;
}

void MailboxView::announce(std::string& out, const AnnounceOptions& opts) {
  if (!pending_) return;
  bool expunges_left = false;
  if (opts.expunges) {
    drop_expunged(out, opts);
  } else {
    expunges_left = std::any_of(messages_.begin(), messages_.end(), [](const ViewMessage& m) { return m.expunged; });
  }
  auto total = static_cast<std::uint32_t>(messages_.size());
  if (total != announced_) {
    announced_ = total;
    out += fmt::format("* {} EXISTS\r\n", total);
    if (opts.recent) {
      auto recent = recent_count();
      if (recent != announced_recent_) out += fmt::format("* {} RECENT\r\n", recent);
      announced_recent_ = recent;
    }
  }
  for (std::uint32_t i = 0; i < announced_; ++i) {
    auto& m = messages_[i];
    if (!m.flags_pending || m.expunged) continue;
    m.flags_pending = false;
    out += fmt::format("* {} FETCH (", i + 1);
    if (opts.uid) out += fmt::format("UID {} ", m.info.uid);
    out += "FLAGS ";
    write_flags(out, m, opts.recent);
    if (opts.modseq) out += fmt::format(" MODSEQ ({})", m.info.modseq);
    out += ")\r\n";
  }
  pending_ = expunges_left;
}

void MailboxView::expunged_by_us(std::span<const std::uint32_t> uids, std::string& out, const AnnounceOptions& opts) {
  for (auto uid : uids) {
    auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
    if (it != uids_.end() && *it == uid) messages_[static_cast<std::size_t>(it - uids_.begin())].expunged = true;
  }
  // Unannounced ones go silently; announced ones get their EXPUNGE/VANISHED now.
  drop_expunged(out, opts);
  pending_ = std::any_of(messages_.begin(), messages_.end(),
                         [](const ViewMessage& m) { return m.expunged || m.flags_pending; }) ||
             messages_.size() != announced_;
}

void MailboxView::flags_by_us(std::uint32_t uid, const std::string& flags, std::uint64_t modseq) {
  auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
  if (it == uids_.end() || *it != uid) return;
  auto& m = messages_[static_cast<std::size_t>(it - uids_.begin())];
  m.info.flags = flags;
  m.info.modseq = std::max(m.info.modseq, modseq);
  m.flags_pending = false;
  // info_.highest_modseq stays: it marks what was absorbed, and changes made elsewhere
  // just before this one (lower MODSEQs) are still to come.
}

}  // namespace valija::imap::server
