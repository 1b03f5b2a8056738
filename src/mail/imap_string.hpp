#pragma once
// IMAP string and nstring output (RFC 3501 §4.3, RFC 9051 §4.3): the one place that decides
// between a quoted string and a literal. FETCH responses (ENVELOPE, BODYSTRUCTURE, header
// values) and anything else the IMAP server writes as a string should go through here.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace valija::mail {

// Longer values are sent as literals: a quoted string has no length limit in the grammar, but
// clients read responses line by line and some cap the line length.
inline constexpr std::size_t kImapMaxQuoted = 1024;

// Appends `s` as a quoted string when every octet is a 7-bit TEXT-CHAR (no CR, LF or NUL) and it
// is at most kImapMaxQuoted long, escaping `"` and `\` (RFC 3501 §9 quoted-specials); otherwise
// as a synchronizing literal `{n}\r\n...`. NUL cannot appear in either form (RFC 3501 §9 CHAR8),
// so it is replaced by U+FFFD.
void append_imap_string(std::string& out, std::string_view s);
// NIL for nullopt (RFC 3501 §9 nstring).
void append_imap_nstring(std::string& out, const std::optional<std::string>& s);

std::string imap_string(std::string_view s);
std::string imap_nstring(const std::optional<std::string>& s);

}  // namespace valija::mail
