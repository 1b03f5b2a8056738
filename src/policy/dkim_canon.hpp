#pragma once
// The message as DKIM sees it: header fields split once, header and body
// canonicalisation (RFC 6376 §3.4), the choice of signed header fields (§5.4.2) and the
// signature field with b= emptied (§3.7). Used by signing and verification; public for
// the tests and the fuzz target.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/dkim.hpp"

namespace valija::policy::dkim {

struct HeaderField {
  // From the first octet of the name to the end of its last line, the final line end
  // excluded (internal folding kept as it is).
  std::string_view raw;
  // The name before the colon, without the whitespace RFC 5322 §4.5 (obs-optional)
  // allows before it; empty for a line that is not a field (no colon, a name with
  // spaces or controls, a continuation line before any field): such lines are never
  // signed or selected.
  std::string_view name;
};

struct MessageParts {
  std::vector<HeaderField> fields;
  std::string_view body;         // after the empty line; empty when there is none
  bool too_many_fields = false;  // more than the limit: fields and body are incomplete
};

// Lines end at LF (a CR before it belongs to the line end). At most `max_fields` fields.
MessageParts split_message(std::string_view message, std::size_t max_fields = kLimits.header_fields);

// One header field canonicalised (RFC 6376 §3.4.1 simple, §3.4.2 relaxed), appended to
// `out` with its CRLF.
void append_canon_header(std::string& out, Canon c, std::string_view raw_field);
std::string canon_header(Canon c, std::string_view raw_field);

// Receives the canonicalised body in pieces.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void put(std::string_view bytes) = 0;
};
// RFC 6376 §3.4.3 simple, §3.4.4 relaxed; the body is streamed, never copied whole.
void canon_body(Canon c, std::string_view body, BodySink& sink);
std::string canon_body(Canon c, std::string_view body);

// The field with the value of its b= tag removed, whitespace around it included (RFC
// 6376 §3.7); everything else byte for byte. Unchanged when the value has no b= tag.
std::string blank_b_value(std::string_view raw_field);

// RFC 6376 §5.4.2: for each name of `names` (lower case), the last instance not yet
// used, counting from the bottom; a name with no instance left contributes nothing.
// `exclude` (a field of `m`, or null) is never chosen: the signature being verified.
std::vector<const HeaderField*> select_headers(const MessageParts& m, std::span<const std::string> names,
                                               const HeaderField* exclude);

}  // namespace valija::policy::dkim
