#pragma once
// FETCH attributes (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ).
// The macros ALL, FAST and FULL arrive expanded.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace valija::imap::proto {

enum class FetchAtt : std::uint8_t {
  Envelope,
  Flags,
  InternalDate,
  Rfc822,        // = BODY[]   (RFC 3501; sets \Seen)
  Rfc822Header,  // = BODY.PEEK[HEADER]
  Rfc822Size,
  Rfc822Text,    // = BODY[TEXT] (sets \Seen)
  Body,          // BODY without section: BODYSTRUCTURE without extension data
  BodyStructure,
  Uid,
  BodySection,    // BODY[section]<partial>, BODY.PEEK[...] (peek)
  BinarySection,  // BINARY[part]<partial>, BINARY.PEEK[...] (RFC 3516 §4.1)
  BinarySize,     // BINARY.SIZE[part]
  ModSeq,         // RFC 7162 §3.1.4.1
};

enum class SectionText : std::uint8_t { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime };

struct Section {
  std::vector<std::uint32_t> part;  // "1.2.3"; empty: the whole message
  SectionText text = SectionText::None;
  std::vector<std::string> fields;  // HEADER.FIELDS[.NOT], as sent (echoed in the response)
  bool operator==(const Section&) const = default;
};

struct Partial {
  std::uint64_t offset = 0;
  std::uint64_t count = 0;  // > 0
  bool operator==(const Partial&) const = default;
};

struct FetchItem {
  FetchAtt att = FetchAtt::Flags;
  bool peek = false;  // BODY.PEEK / BINARY.PEEK: does not set \Seen
  Section section;
  std::optional<Partial> partial;
  bool operator==(const FetchItem&) const = default;
};

}  // namespace valija::imap::proto
