#pragma once
// RFC 2047 encoded words in header values, decoded to UTF-8 for SEARCH and display.
#include <cstddef>
#include <string>
#include <string_view>

#include "mail/charset.hpp"

namespace valija::mail {

// Decodes every well-formed encoded word `=?charset[*lang]?B|Q?text?=` (RFC 2047 §2, RFC 2231
// §5) to UTF-8 and leaves anything malformed as it is. Whitespace between two adjacent encoded
// words is dropped (RFC 2047 §6.2). Adjacent words in the same charset are joined before
// conversion, so a character split across two words (common in practice) survives. Text outside
// encoded words is taken as UTF-8 when valid, else Latin-1 (RFC 6532 allows UTF-8 headers).
// Words are recognised anywhere, not only between whitespace, as readers do.
std::string decode_rfc2047(std::string_view value, std::size_t max_out = kNoLimit);

// A raw header value as a reader sees it: unfolded (RFC 5322 §2.2.3), leading WSP dropped,
// encoded words decoded.
std::string decode_header_value(std::string_view raw, std::size_t max_out = kNoLimit);

}  // namespace valija::mail
