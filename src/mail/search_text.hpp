#pragma once
// Text for SEARCH BODY and SEARCH TEXT (RFC 3501 §6.4.4): decoded to UTF-8, then matched
// through fold_case() (fold_case.hpp).
#include <cstddef>
#include <string>
#include <string_view>

#include "mail/mime.hpp"

namespace valija::mail {

enum class SearchScope {
  Body,  // SEARCH BODY: the body; headers of encapsulated messages count as body
  Text,  // SEARCH TEXT: the top-level header too
};

// The decoded text of every text/* part under `part` (transfer encoding undone, charset
// converted to UTF-8), and header fields of message nodes as "Name: decoded value" lines
// (RFC 2047 decoded), each piece ending in "\n". At most `max_bytes` octets, cut at a
// character boundary; decoding work is bounded accordingly.
std::string searchable_text(std::string_view message, const mime::Part& part,
                            SearchScope scope = SearchScope::Text, std::size_t max_bytes = 1 << 20);

}  // namespace valija::mail
