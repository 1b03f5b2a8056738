#pragma once
// What FETCH rendering and SEARCH evaluation read of a message, behind an interface: the
// session reads the store (MessageSource), tests and the fuzz target read memory.
#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "mail/mime.hpp"
#include "store/store.hpp"

namespace valija::imap::server {

class MessageData {
 public:
  virtual ~MessageData() = default;
  // The structure of the whole message (trace-header prefix + body): offsets include
  // the prefix. NotFound when the message is gone.
  virtual Result<const mail::mime::Part*> structure(const store::MessageInfo& m) = 0;
  // Octets [begin, end) of the message, clipped to its size.
  virtual Result<std::string> read(const store::MessageInfo& m, std::uint64_t begin, std::uint64_t end) = 0;
  virtual Result<std::string> whole(const store::MessageInfo& m) = 0;
};

}  // namespace valija::imap::server
