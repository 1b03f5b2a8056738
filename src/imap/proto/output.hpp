#pragma once
// Writing IMAP data in responses (RFC 9051 §4.3, §9): strings as atom, quoted or literal,
// mailbox names, flag lists and dates. `utf8` says UTF8=ACCEPT (RFC 6855 §3) or IMAP4rev2
// is enabled: then UTF-8 may appear in quoted strings, otherwise 8-bit text goes out as a
// literal (and mailbox names as modified UTF-7).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace valija::imap::proto {

// Longest string sent quoted; longer ones are literals, which clients read without
// line-length trouble.
constexpr std::size_t kQuotedMax = 1024;

// True when `s` can be sent as an atom (RFC 9051 §9 ATOM-CHAR, non-empty).
bool is_atom(std::string_view s);
// True when `s` can be sent quoted: no NUL, CR, LF; 8-bit only as valid UTF-8 when allowed.
bool can_quote(std::string_view s, bool utf8);

// string = quoted / literal. A NUL octet cannot be sent in either (CHAR8 excludes it): it
// goes out in a literal as is, and callers that may hold NUL use binary literals.
void write_string(std::string& out, std::string_view s, bool utf8);
// astring: an atom when possible ("NIL" is quoted, so no client reads it as nil).
void write_astring(std::string& out, std::string_view s, bool utf8);
// nstring: NIL when absent.
void write_nstring(std::string& out, std::optional<std::string_view> s, bool utf8);
// A UTF-8 mailbox name as an astring: UTF-8 when `utf8`, modified UTF-7 otherwise.
void write_mailbox(std::string& out, std::string_view name, bool utf8);
// A literal: "{n}\r\n" and the octets; `binary` writes literal8 "~{n}" (RFC 3516 §4.3).
void write_literal(std::string& out, std::string_view s, bool binary = false);
// "(\Seen $Forwarded)": flags and keywords as they are stored (already validated atoms).
void write_flag_list(std::string& out, std::span<const std::string> flags);
// "\"17-Jul-1996 02:44:25 -0700\"" (quotes included) for INTERNALDATE.
void write_date_time(std::string& out, std::int64_t unix, int zone_minutes);

}  // namespace valija::imap::proto
