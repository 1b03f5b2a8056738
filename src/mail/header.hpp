#pragma once
// Raw header fields of a message or MIME part (RFC 5322 §2.2), with their offsets, for FETCH
// BODY[HEADER.FIELDS ...] and for the structure parser. Views into the caller's buffer.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace valija::mail {

struct HeaderField {
  std::string_view name;   // as written, without the colon and any WSP before it (RFC 5322 §4.5.3)
  std::string_view value;  // after the colon up to the field's last line ending, folding kept
  std::size_t begin = 0;   // offset of the field's first octet in the block
  std::size_t end = 0;     // offset just past the field's last line ending (or the block end)
};

// Walks the fields of a header block (the header section, optionally followed by the blank line
// and anything after it). Lines may end in CRLF or bare LF. A line that does not start with WSP
// starts a field; a line without a colon is kept as a field whose name is the whole line and
// whose value is empty (Dovecot keeps such lines too). The walk stops at the first empty line.
class HeaderReader {
 public:
  explicit HeaderReader(std::string_view block) : block_(block) {}
  std::optional<HeaderField> next();
  // Where the walk stopped: the start of the blank line, or the block size.
  std::size_t position() const { return pos_; }

 private:
  std::string_view block_;
  std::size_t pos_ = 0;
  bool done_ = false;
};

// RFC 5322 §2.2.3 unfolding: removes the CR and LF octets of folded lines, keeping the WSP.
std::string unfold(std::string_view value);
// Unfolded and without leading WSP (how Dovecot reports raw values: Date, Message-ID,
// Content-ID, Content-Location...).
std::string unfold_trim_leading(std::string_view value);

// Runs of WSP, CR and LF become one space; leading and trailing ones go. How Dovecot presents
// text meant for people in ENVELOPE (subject, display names).
std::string collapse_whitespace(std::string_view value);

// The raw value of the first field called `name` (case-insensitive), if any.
std::optional<std::string_view> find_field(std::string_view block, std::string_view name);

// BODY[HEADER.FIELDS (names)] and BODY[HEADER.FIELDS.NOT (names)] (RFC 3501 §6.4.5): the raw
// lines of the matching (or, with `exclude`, non-matching) fields, folding included, in message
// order, then the blank line that ended the header if the block has one. Names match
// case-insensitively and exactly. A selected last field without a line ending gets CRLF.
std::string select_fields(std::string_view block, std::span<const std::string_view> names,
                          bool exclude);

}  // namespace valija::mail
