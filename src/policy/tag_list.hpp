#pragma once
// Tag=value lists (RFC 6376 §3.2): the syntax of DKIM signatures and key records and of
// DMARC records (RFC 7489 §6.4): "tag = value; tag = value;". Views into the parsed text.
#include <cstddef>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace valija::policy {

inline constexpr std::size_t kMaxTags = 64;

// One tag. value_begin/value_end delimit, in the parsed text, everything between '=' and
// the ';' (or the end): what RFC 6376 §3.7 empties for b=.
struct Tag {
  std::string_view name;
  std::string_view value;  // leading and trailing FWS removed
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
};

// Tag names are case-sensitive (callers that want otherwise compare themselves); a
// repeated name, a spec without '=', an invalid name or a control character in a value
// is an error; empty specs (";;", a final ";") are skipped; at most `max_tags`.
Result<std::vector<Tag>> parse_tag_list(std::string_view text, std::size_t max_tags = kMaxTags);
const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name);

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }
constexpr bool is_fws(char c) { return is_wsp(c) || c == '\r' || c == '\n'; }
std::string_view trim_fws(std::string_view s);

}  // namespace valija::policy
