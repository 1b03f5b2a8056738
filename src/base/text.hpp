#pragma once
// ASCII helpers shared by the parsers (no locale, no allocation surprises).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace valija::text {

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);
// Decimal without sign or leading '+', bounded to uint64; nullopt on anything else.
std::optional<std::uint64_t> parse_u64(std::string_view s);
// Lower-case hex of `n` octets (digests, ids).
std::string hex(const unsigned char* data, std::size_t n);
// UTF-8 well-formedness (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s);
// Appends code point `cp` as UTF-8 (U+FFFD for surrogates and values past U+10FFFF).
void append_utf8(std::string& out, char32_t cp);

}  // namespace valija::text
