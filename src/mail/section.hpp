#pragma once
// FETCH BODY[section] addressing (RFC 3501 §6.4.5, RFC 9051 §6.4.5) over a parsed or cached tree.
#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "mail/mime.hpp"

namespace valija::mail::mime {

enum class SectionPart {
  Whole,   // BODY[] or BODY[1.2]: the message, or the body of the part
  Header,  // HEADER, and the block HEADER.FIELDS[.NOT] select from (mail::select_fields)
  Text,    // TEXT
  Mime,    // MIME: the part's MIME header
};

struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// The part a numeric path names, nullptr when there is none. Numbering (RFC 3501 §6.4.5): the
// parts of a multipart are 1..n in order; a message whose body is not multipart has one part,
// 1, its body; the parts of a message/rfc822 (or message/global) part are the parts of the
// encapsulated message's body. An empty path is the message itself.
const Part* find_part(const Part& message, std::span<const std::uint32_t> path);

// Offsets into the message of what BODY[<path>.<what>] returns. HEADER and TEXT need an empty
// path or one naming a message/rfc822 (or message/global) part; MIME needs a non-empty path
// (RFC 3501 §6.4.5). Errc::NotFound for anything else.
Result<ByteRange> find_section(const Part& message, std::span<const std::uint32_t> path,
                               SectionPart what);

}  // namespace valija::mail::mime
