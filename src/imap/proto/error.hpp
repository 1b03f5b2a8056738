#pragma once
// What the session needs to answer a command the protocol layer refused: the tag (when it
// was read), BAD or NO, a response code, a text that never echoes the client's data
// (passwords), and whether the connection must close (BYE).
#include <string>
#include <string_view>

namespace valija::imap::proto {

enum class Status { Bad, No };

// Response codes of RFC 9051 §7.1 the protocol layer uses.
enum class Code {
  None,
  TooBig,      // a line, literal or command over its size limit
  Limit,       // a count over its limit (ranges, search keys, nesting)
  Cannot,      // a mailbox name valija will not create
  ClientBug,   // a request a correct client never sends
  BadCharset,  // unsupported SEARCH CHARSET (the session adds the list)
};

std::string_view code_name(Code c);  // "TOOBIG", "" for None

struct ParseError {
  std::string tag;  // empty: the tag could not be read; answer "* BAD"
  Status status = Status::Bad;
  Code code = Code::None;
  std::string text;
  bool close = false;  // send "* BYE <text>" and close the connection

  // The response lines: "tag BAD [TOOBIG] text\r\n", preceded by "* BYE text\r\n" when
  // closing (RFC 9051 §7.1.5).
  std::string render() const;
};

}  // namespace valija::imap::proto
