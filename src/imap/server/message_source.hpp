#pragma once
// The stored messages a FETCH or SEARCH reads: each message's MIME structure (from the
// cache kept with its body, computed and cached when missing) and its octets, read
// lazily and at most once per command.
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "mail/mime.hpp"
#include "store/store.hpp"

namespace valija::imap::server {

class MessageSource {
 public:
  MessageSource(store::Store& store, store::MailboxId mailbox) : store_(store), mailbox_(mailbox) {}

  // Loads the cached structures of these messages in one store round trip.
  Result<void> preload(std::span<const store::MessageInfo* const> messages);
  // The structure of the whole message (prefix + body): offsets already include the
  // trace-header prefix. Parses and caches it when the cache has none.
  Result<const mail::mime::Part*> structure(const store::MessageInfo& m);
  // Octets [begin, end) of the message (clipped to its size).
  Result<std::string> read(const store::MessageInfo& m, std::uint64_t begin, std::uint64_t end);
  // The whole message.
  Result<std::string> whole(const store::MessageInfo& m);

 private:
  Result<store::MessageReader*> reader(const store::MessageInfo& m);

  store::Store& store_;
  store::MailboxId mailbox_;
  std::unordered_map<std::uint32_t, std::string> cached_;  // uid -> encoded structure
  std::unordered_map<std::uint32_t, mail::mime::Part> parts_;
  std::uint32_t reader_uid_ = 0;
  std::unique_ptr<store::MessageReader> reader_;
};

// Moves every offset of a body's structure by the prefix (trace headers) the message
// has before that body; the root's header then covers the prefix too.
void shift_by_prefix(mail::mime::Part& root, std::uint64_t prefix);

}  // namespace valija::imap::server
