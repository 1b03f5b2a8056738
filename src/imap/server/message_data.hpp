#pragma once
// What FETCH rendering and SEARCH evaluation read of a message, behind an interface: the
// session reads the store (MessageSource), tests and the fuzz target read memory.
#include <cstdint>
#include <optional>
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

  // SEARCH FROM/TO/CC/BCC/SUBJECT: the envelope field decoded (RFC 2047) and case-folded;
  // nullptr when the message has no such field. A source may keep it for later searches
  // (MessageSource does, per session); this one works it out each time.
  enum class Field { From, To, Cc, Bcc, Subject };
  virtual Result<const std::string*> folded(const store::MessageInfo& m, Field f);
  // Decodes and folds one of `structure`'s envelope fields into `out`; false when absent.
  static bool fold_field(const mail::mime::Part& structure, Field f, std::string& out);

 private:
  std::string folded_;
};

}  // namespace valija::imap::server
