#pragma once
// RFC 5322 §3.4 address lists as IMAP ENVELOPE address structures (RFC 3501 §7.4.2,
// RFC 9051 §7.5.2). Lenient, as readers must be with real mail.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace valija::mail {

// One IMAP address: (name adl mailbox host). A group is a start marker {NIL, NIL, "group name",
// NIL}, its members, and an end marker {NIL, NIL, NIL, NIL} (RFC 3501 §7.4.2).
struct ImapAddress {
  std::optional<std::string> name;     // display name (or a trailing comment), raw, whitespace collapsed
  std::optional<std::string> route;    // obsolete source route "@a,@b" (RFC 5322 §4.4 obs-route)
  std::optional<std::string> mailbox;  // local part, quoted-string unquoted
  std::optional<std::string> host;     // domain, CFWS removed
  friend bool operator==(const ImapAddress&, const ImapAddress&) = default;
};

// What Dovecot puts where a part is missing, since NIL host means a group marker.
inline constexpr std::string_view kMissingMailbox = "MISSING_MAILBOX";
inline constexpr std::string_view kMissingDomain = "MISSING_DOMAIN";

// Parses a raw address-list field value (folding allowed). Handles groups (also empty and
// unterminated ones), display names as phrases or quoted strings, comments (the last comment is
// the name when there is no display name, as Dovecot and UW-IMAP do), obsolete routes and
// obs-domain CFWS around dots, empty list elements (RFC 5322 §4.4, skipped). A malformed element
// yields what could be read with the placeholders above (`foo` is mailbox "foo" with
// MISSING_DOMAIN, `<>` is both placeholders, a lone phrase is a name with both placeholders);
// junk after an address up to the next comma is ignored. At most `max_addresses` entries.
std::vector<ImapAddress> parse_address_list(std::string_view raw, std::size_t max_addresses = 10000);

// Appends "(" 1*address ")" or NIL for an empty list (RFC 3501 §9 env-from etc.).
void append_address_list(std::string& out, const std::vector<ImapAddress>& list);

}  // namespace valija::mail
