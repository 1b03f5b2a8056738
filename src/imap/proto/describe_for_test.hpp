#pragma once
// Tests only: a compact, complete text form of a parsed Command, so tables of
// input → expected result stay readable.
#include <string>

#include "imap/proto/command.hpp"

namespace valija::imap::proto::testing {

std::string describe(const SearchKey& k);
std::string describe(const FetchItem& i);
std::string describe(const Command& c);
// parse_command() result: describe(command) or "ERR <rendered error>".
std::string describe_parse(std::string_view text, const ParserLimits& limits = {});

}  // namespace valija::imap::proto::testing
