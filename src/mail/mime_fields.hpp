#pragma once
// Parsers for the MIME header fields of a part (RFC 2045 §5, §6; RFC 2183; RFC 3282), with
// RFC 822 comments and folding allowed wherever RFC 2045 allows them.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/rfc2231.hpp"

namespace valija::mail {

struct ContentType {
  std::string type;     // as written
  std::string subtype;  // as written
  std::vector<MimeParam> params;  // RFC 2231 joined (join_rfc2231), in order
};

// `type "/" subtype *(";" parameter)` (RFC 2045 §5.1). nullopt when type or subtype is missing:
// the caller then applies the default (RFC 2045 §5.2 recommends it for an invalid field too).
// Parameters are read leniently: an unquoted value runs to ';', whitespace or '(' (real mail
// writes boundary=----=_Part_1 unquoted); a parameter without '=' is skipped; junk after a value
// is skipped up to the next ';'. At most `max_params` raw parameters are kept.
std::optional<ContentType> parse_content_type(std::string_view value, std::size_t max_params);

struct ContentDisposition {
  std::string type;  // as written
  std::vector<MimeParam> params;
};
// RFC 2183 §2: `disposition-type *(";" parameter)`; nullopt without a type token.
std::optional<ContentDisposition> parse_content_disposition(std::string_view value,
                                                            std::size_t max_params);

// The first token of a field such as Content-Transfer-Encoding (RFC 2045 §6.1), comments
// skipped; nullopt when there is none.
std::optional<std::string> parse_first_token(std::string_view value);

// Content-Language (RFC 3282 §2): comma-separated language tags, comments skipped.
std::vector<std::string> parse_language_list(std::string_view value, std::size_t max_tags);

}  // namespace valija::mail
