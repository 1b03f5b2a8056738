#pragma once
// The stored messages a FETCH or SEARCH reads: each message's MIME structure (from the
// cache kept with its body, computed and cached when missing) and its octets, read
// lazily and at most once per command.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "imap/server/message_data.hpp"
#include "mail/mime.hpp"
#include "store/store.hpp"

namespace valija::imap::server {

// The structures a session has decoded, by UID of the selected mailbox (a UID names one
// message for good, so entries never go stale; a new selection clears them). Repeated
// FETCH ENVELOPE and SEARCH in one session then decode nothing. Bounded: past `max`
// entries it starts over, between commands only, so pointers handed out stay valid for
// the command that got them.
class PartCache {
 public:
  explicit PartCache(std::size_t max = 2048) : max_(max) {}
  const mail::mime::Part* find(std::uint32_t uid) const {
    auto it = parts_.find(uid);
    return it == parts_.end() ? nullptr : it->second.part.get();
  }
  const mail::mime::Part* put(std::uint32_t uid, mail::mime::Part part) {
    auto& slot = parts_[uid];
    slot = Entry{};
    slot.part = std::make_unique<mail::mime::Part>(std::move(part));
    return slot.part.get();
  }
  // The message's ENVELOPE as FETCH writes it, rendered on first use (clients ask for
  // the envelopes of a whole mailbox again and again). `uid` must have been put().
  const std::string& envelope(std::uint32_t uid);
  // An envelope field folded for SEARCH, worked out on first use; nullptr when absent.
  const std::string* folded(std::uint32_t uid, MessageData::Field f);
  // Between commands.
  void trim() {
    if (parts_.size() > max_) parts_.clear();
  }
  void clear() { parts_.clear(); }

 private:
  struct Entry {
    std::unique_ptr<mail::mime::Part> part;
    std::optional<std::string> envelope;
    std::array<std::optional<std::string>, 5> folded;  // by MessageData::Field; nullopt: absent
    std::uint8_t folded_done = 0;                        // a bit per field worked out
  };
  std::size_t max_;
  std::unordered_map<std::uint32_t, Entry> parts_;
};

class MessageSource final : public MessageData {
 public:
  MessageSource(store::Store& store, store::MailboxId mailbox, PartCache& cache)
      : store_(store), mailbox_(mailbox), parts_(cache) {}

  // Loads the cached structures of these messages in one store round trip.
  Result<void> preload(std::span<const store::MessageInfo* const> messages);
  // Parses and caches the structure when the store's cache has none.
  Result<const mail::mime::Part*> structure(const store::MessageInfo& m) override;
  // The rendered ENVELOPE (FETCH).
  Result<const std::string*> envelope(const store::MessageInfo& m);
  Result<const std::string*> folded(const store::MessageInfo& m, Field f) override;
  Result<std::string> read(const store::MessageInfo& m, std::uint64_t begin, std::uint64_t end) override;
  Result<std::string> whole(const store::MessageInfo& m) override;

 private:
  Result<store::MessageReader*> reader(const store::MessageInfo& m);

  store::Store& store_;
  store::MailboxId mailbox_;
  std::unordered_map<std::uint32_t, std::string> cached_;  // uid -> encoded structure, preloaded
  PartCache& parts_;
  std::uint32_t reader_uid_ = 0;
  std::unique_ptr<store::MessageReader> reader_;
};

// Moves every offset of a body's structure by the prefix (trace headers) the message
// has before that body; the root's header then covers the prefix too.
void shift_by_prefix(mail::mime::Part& root, std::uint64_t prefix);

}  // namespace valija::imap::server
