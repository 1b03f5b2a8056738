#pragma once
// MIME structure of a message (RFC 2045, RFC 2046) as a tree of parts with byte offsets, for
// IMAP FETCH (BODY, BODYSTRUCTURE, BODY[section], BINARY) and SEARCH. Pure: no I/O, and bounded
// in time and memory on any input (see MimeLimits).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/envelope.hpp"
#include "mail/rfc2231.hpp"

namespace valija::mail::mime {

// Every limit of the structure parser (Dovecot src/lib-mail/message-parser.h has the same two
// first ones). Past a limit the rest is an opaque body: never an error, never unbounded work.
struct MimeLimits {
  // Nesting: a part this deep (the top-level message is depth 0, each multipart part and each
  // encapsulated message adds one) is a leaf, its body not looked into. The parsed tree is also
  // destroyed recursively, so keep this modest.
  std::size_t max_depth = 100;
  // Parts in one message, the top-level message and encapsulated messages included. A boundary
  // that would start one more part ends boundary recognition: the rest of the message is the
  // body of the part being read.
  std::size_t max_parts = 10000;
  // Longest boundary parameter accepted; RFC 2046 §5.1.1 allows 70, we take some more as real
  // mail has them. A longer one is treated as missing.
  std::size_t max_boundary = 200;
  // Octets of one header field value read for the structure (Content-* fields, envelope); the
  // rest of a longer field is ignored. The message itself is never altered.
  std::size_t max_field_value = 64 * 1024;
  // Parameters kept per Content-Type or Content-Disposition.
  std::size_t max_params = 64;
  // Content-Language tags kept per part.
  std::size_t max_languages = 16;
};

struct Part {
  // Offsets into the whole message. [header_begin, body_begin) is the header with its blank
  // line (for a multipart part, its MIME header; BODY[n.MIME]); [body_begin, body_end) the body.
  // Without a blank line the header runs to the end of the part and the body is empty there.
  // The line break before a boundary delimiter belongs to the delimiter (RFC 2046 §5.1.1),
  // except the one of a header's blank line right before it, which stays with the header.
  std::uint64_t header_begin = 0;
  std::uint64_t body_begin = 0;
  std::uint64_t body_end = 0;
  std::uint64_t body_lines = 0;  // LF octets in the body (RFC 3501 body-fld-lines)

  // Content-Type (RFC 2045 §5) as written; when absent or invalid the defaults below, in lower
  // case as Dovecot writes them, or message/rfc822 inside multipart/digest (RFC 2046 §5.1.5).
  // A text part without a charset parameter gets ("charset" "us-ascii") last (RFC 2045 §5.2;
  // Dovecot does the same).
  std::string type = "text";
  std::string subtype = "plain";
  std::vector<MimeParam> params;  // RFC 2231 joined, see rfc2231.hpp
  std::optional<std::string> id;           // Content-ID, raw (unfolded, leading WSP dropped)
  std::optional<std::string> description;  // Content-Description, raw (not RFC 2047 decoded)
  std::string encoding = "7bit";           // Content-Transfer-Encoding token as written (RFC 2045 §6.1)
  std::optional<std::string> md5;          // Content-MD5, raw (RFC 1864)
  std::optional<std::string> disposition;  // Content-Disposition type (RFC 2183), as written
  std::vector<MimeParam> disposition_params;
  std::vector<std::string> languages;      // Content-Language (RFC 3282)
  std::optional<std::string> location;     // Content-Location, raw (RFC 2557)

  // Set on message nodes: the top-level message and each encapsulated message.
  std::optional<Envelope> envelope;
  // A multipart: its parts. message/rfc822 or message/global: one node, the encapsulated
  // message (its header starts at this part's body_begin). Empty for a leaf, and for a
  // multipart or message past a limit or without a usable boundary.
  std::vector<Part> children;

  std::uint64_t body_octets() const { return body_end - body_begin; }
  bool is_multipart() const;  // type "multipart" (case-insensitive)
  bool is_message() const;    // message/rfc822 or message/global (RFC 6532 §3.7)
  bool is_text() const;       // type "text"
  friend bool operator==(const Part&, const Part&) = default;
};

// Parses the whole message. Lines may end in CRLF or bare LF; sizes are raw octets of the
// message as given (store messages with CRLF, as IMAP sends them). Multipart bodies are split
// at delimiter lines `--boundary` + optional WSP and the close delimiter `--boundary--` +
// optional WSP (RFC 2046 §5.1.1); the innermost open multipart is checked first, so a nested
// multipart reusing its parent's boundary works as Dovecot reads it; a parent's delimiter ends
// every part nested in it (a missing close delimiter), preamble and epilogue belong to no part.
// A multipart without a boundary parameter, with an empty or overlong one, or whose boundary
// never appears, has no children (rendered as Dovecot does, with one empty text/plain part).
// One pass over the message: cost is linear in its size times the (bounded) nesting depth.
Part parse(std::string_view message, const MimeLimits& limits = {});

namespace detail {
// Fills the Content-* fields of `part` (and its envelope when `message_node`) from its header
// block [header_begin, header end).
void apply_header(Part& part, std::string_view header, bool in_digest, bool message_node,
                  const MimeLimits& limits);
}  // namespace detail

}  // namespace valija::mail::mime
