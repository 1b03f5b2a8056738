#pragma once
// Charset conversion to UTF-8 for SEARCH and display (RFC 2045 §5.1 charset parameter, RFC 2047
// encoded words, RFC 2231 values). Built in: UTF-8, US-ASCII, ISO-8859-1 and windows-1252; every
// other name goes to glibc iconv. Each thread keeps its own small cache of iconv descriptors
// (an iconv_t is not safe to share), so this is thread-safe without locks.
#include <cstddef>
#include <string>
#include <string_view>

namespace valija::mail {

inline constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);

// Converts `in` from `charset` to UTF-8. The result is always valid UTF-8 and at most `max_out`
// octets (cut at a character boundary). Sequences the charset cannot decode become U+FFFD.
// An unknown or unusable charset name (and 8-bit octets labelled US-ASCII) is taken as UTF-8
// when the input is valid UTF-8, else as Latin-1 (windows-1252, as the WHATWG Encoding Standard
// reads the latin-1 label): mislabelled mail is common and this is what readers expect.
std::string to_utf8(std::string_view in, std::string_view charset, std::size_t max_out = kNoLimit);

// Valid UTF-8 of at most `max_out` octets: each octet that does not start a well-formed sequence
// (RFC 3629) becomes U+FFFD.
std::string sanitize_utf8(std::string_view in, std::size_t max_out = kNoLimit);

// Whether `charset` is built in or known to iconv.
bool charset_known(std::string_view charset);

// Appends code point `cp` as UTF-8 (U+FFFD for surrogates and values past U+10FFFF).
void append_utf8(std::string& out, char32_t cp);

}  // namespace valija::mail
