#pragma once
// Tag=value lists (RFC 6376 §3.2), the syntax of DMARC records (RFC 7489 §6.4) and of
// DKIM signatures and key records: "tag = value; tag = value;". Tag names as written
// (callers decide on case); values without their surrounding folding white space.
// Empty specs (";;") are skipped; a duplicate tag, a spec without "=", or an invalid
// tag name is an error; at most kMaxTags tags.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace valija::policy {

inline constexpr std::size_t kMaxTags = 64;

using TagList = std::vector<std::pair<std::string, std::string>>;
Result<TagList> parse_tag_list(std::string_view text);

}  // namespace valija::policy
