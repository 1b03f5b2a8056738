#pragma once
// Tests only: raw command → expected result, shared by the parser test and the reader
// test (which feeds the same commands byte by byte and in random splits).
#include <string>
#include <vector>

namespace valija::imap::proto::testing {

struct CommandCase {
  std::string text;      // one command as the reader assembles it (no final CRLF)
  std::string expected;  // describe() of the result, or "ERR <response line>"
};

const std::vector<CommandCase>& command_cases();

}  // namespace valija::imap::proto::testing
