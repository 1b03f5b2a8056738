#pragma once
// Base64 (RFC 4648 §4): padded, no line breaks, as SASL (RFC 4422) and DKIM (RFC 6376,
// after its folding white space is removed) use it.
#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace valija {

std::string base64_encode(std::string_view bytes);

enum class Base64Error {
  Length,     // not a multiple of 4 characters
  Character,  // outside A-Z a-z 0-9 + / (whitespace included)
  Padding,    // '=' anywhere but the last one or two places, or non-zero pad bits (RFC 4648 §3.5)
  TooLong,    // would decode to more than the caller's bound
};
std::string_view base64_error_text(Base64Error e);

// The empty string decodes to the empty string. `max_decoded` is checked before any
// allocation. Strict (the default) also refuses non-zero pad bits, so that one byte
// string has one encoding (what authentication wants); lenient accepts them, as a
// verifier of others' data may.
tl::expected<std::string, Base64Error> base64_decode(std::string_view text, std::size_t max_decoded, bool strict = true);

}  // namespace valija
