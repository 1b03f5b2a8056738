#pragma once
// Every limit the IMAP protocol layer enforces, with its default and why. The reader, the
// parsers and the mailbox-name validator take this one struct; the session copies
// `append` from the global message size limit (base/limits.hpp).
#include <cstddef>
#include <cstdint>

namespace valija::imap::proto {

struct ParserLimits {
  // --- Framing (CommandReader) ---
  // Non-literal text of one line, CRLF included: Dovecot's imap_max_line_length; the long
  // UID sets real clients send (Thunderbird, Outlook) fit.
  std::size_t line = 64 * 1024;
  // One command after authentication: its lines plus inline literals (an APPEND message is
  // streamed and not counted). Four lines' worth: search programs with literals fit.
  std::size_t command = 256 * 1024;
  // One command before authentication, literals included: LOGIN, ID and AUTHENTICATE with a
  // SASL-IR OAuth token (a few KiB of base64) fit; an unauthenticated peer gets no more.
  std::size_t command_pre_auth = 16 * 1024;
  // One literal before authentication: a user name or password; equal to the LITERAL-
  // cap (RFC 7888 §5). Any larger literal before login closes the connection.
  std::uint64_t literal_pre_auth = 4096;
  // One inline literal after authentication (mailbox name, search string).
  std::uint64_t literal = 64 * 1024;
  // An APPEND message literal: APPENDLIMIT (RFC 7889), the server's message size limit.
  std::uint64_t append = 50 * 1024 * 1024;
  // A rejected non-synchronising literal up to this size is read and dropped so the
  // session goes on (a message a little over APPENDLIMIT gets NO [TOOBIG]); a larger one
  // gets BYE: reading it would only waste bandwidth.
  std::uint64_t literal_skip = 64 * 1024 * 1024;

  // --- Arguments (command parser) ---
  // Ranges in one sequence set: more than a 64 KiB line of small distinct UIDs in
  // practice; bounds a parsed set to 80 KB.
  std::size_t sequence_ranges = 10000;
  // Nesting of parentheses, NOT and OR in a search program (counted together): client
  // filters nest a few levels; bounds recursion depth and stack.
  std::size_t search_depth = 32;
  // Search keys in one program: a client's generated OR chain of Message-IDs stays far
  // below; bounds the AST (and the work per message) to about 100 KB.
  std::size_t search_keys = 1000;
  // Items in one FETCH (macros expanded): clients send fewer than 20.
  std::size_t fetch_items = 100;
  // Header field names in all HEADER.FIELDS lists of one FETCH: Thunderbird's custom
  // header lists stay below 50.
  std::size_t header_fields = 256;
  // Components of a section part number (1.2.3): as the MIME parser's nesting limit.
  std::size_t section_parts = 100;
  // Flags in one flag list (STORE, APPEND): a user's keywords.
  std::size_t flags = 256;
  // Patterns in one LIST (RFC 5258 §3) and members of other small lists (ENABLE,
  // SETQUOTA, CREATE USE, STATUS items).
  std::size_t list_items = 64;
  // ID (RFC 2971 §3.3): at most 30 pairs, fields of 30 octets, values of 1024 octets.
  std::size_t id_pairs = 30;
  std::size_t id_field = 30;
  std::size_t id_value = 1024;

  // --- Mailbox names (mailbox_name.hpp), counted in UTF-8 octets ---
  // A whole name: far beyond real hierarchies, and still within a line after mUTF-7.
  std::size_t mailbox_name = 1024;
  // One component between "/": the common file-system NAME_MAX, so exports to Maildir
  // and mbox trees keep working.
  std::size_t mailbox_component = 255;
  // Hierarchy levels: bounds recursive LIST and RENAME of a subtree.
  std::size_t mailbox_depth = 32;
};

// RFC 7888 §5: LITERAL- servers accept non-synchronising literals up to 4096 octets.
constexpr std::uint64_t kLiteralMinusMax = 4096;

}  // namespace valija::imap::proto
