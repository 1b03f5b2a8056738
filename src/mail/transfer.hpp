#pragma once
// Content-Transfer-Encoding decoding (RFC 2045 §6) for SEARCH and for BINARY fetches (RFC 3516).
// Lenient as readers are: what cannot be decoded is skipped or kept, never an error.
#include <cstddef>
#include <string>
#include <string_view>

#include "mail/charset.hpp"

namespace valija::mail {

enum class TransferEncoding { SevenBit, EightBit, Binary, QuotedPrintable, Base64, Unknown };

// Case-insensitive; an empty value is 7bit (RFC 2045 §6.1 default). Anything else unregistered
// (x-uuencode, garbage) is Unknown.
TransferEncoding parse_transfer_encoding(std::string_view cte);

// RFC 2045 §6.8, lenient: octets outside the alphabet (line breaks, junk) are skipped, '='
// ends a quantum (so concatenated encodings decode), an unpadded final quantum yields what it
// holds.
std::string decode_base64(std::string_view in, std::size_t max_out = kNoLimit);

// RFC 2045 §6.7: "=XX" (either case) decodes, "=" at the end of a line is a soft line break,
// trailing WSP on a line is dropped (rule 3), malformed "=" sequences are kept as they are.
// Line breaks are kept as they appear (CRLF or LF).
std::string decode_quoted_printable(std::string_view in, std::size_t max_out = kNoLimit);

struct DecodedBody {
  std::string data;
  bool unknown_encoding = false;  // the server answers NO [UNKNOWN-CTE] (RFC 3516 §4.3)
};

// A part body decoded by its Content-Transfer-Encoding; 7bit/8bit/binary pass unchanged. With
// an unknown encoding, data is the raw body and unknown_encoding is set.
DecodedBody decode_body(std::string_view body, std::string_view cte, std::size_t max_out = kNoLimit);

}  // namespace valija::mail
