#pragma once
// Mailbox names: modified UTF-7 (RFC 3501 §5.1.3) for clients that have not enabled
// UTF8=ACCEPT (RFC 6855 §3) or IMAP4rev2 (RFC 9051 §5.1), the rules of valija's namespace
// (hierarchy delimiter "/"), and LIST pattern matching (RFC 9051 §6.3.9).
//
// The command parser hands mailbox arguments over as sent; the session turns them into
// UTF-8 names with mailbox_from_wire() and answers a NameError with BAD when
// is_encoding() (the client sent malformed bytes) and otherwise NO [CANNOT] (CREATE,
// RENAME target) or NO [NONEXISTENT] (a name that cannot exist). For CREATE the session
// first drops one trailing "/" (RFC 9051 §6.3.4: it only declares the intent to create
// children).
#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "imap/proto/limits.hpp"

namespace valija::imap::proto {

enum class NameErrc {
  BadMutf7,          // malformed or non-canonical modified UTF-7
  BadUtf8,           // not UTF-8
  Empty,             // ""
  TooLong,           // over ParserLimits::mailbox_name octets
  ComponentTooLong,  // a component over ParserLimits::mailbox_component octets
  TooDeep,           // over ParserLimits::mailbox_depth components
  EmptyComponent,    // "/a", "a/", "a//b"
  DotComponent,      // "." or ".." as a component
  ControlChar,       // C0, DEL or C1 control characters
  Wildcard,          // "*" or "%": such a name could not be listed unambiguously
};

struct NameError {
  NameErrc code;
  std::string text;  // for the response; names the rule, never the name
  bool is_encoding() const { return code == NameErrc::BadMutf7 || code == NameErrc::BadUtf8; }
};

// UTF-8 → modified UTF-7. Invalid UTF-8 sequences become U+FFFD.
std::string mutf7_encode(std::string_view utf8);
// Modified UTF-7 → UTF-8, strict: 8-bit or control octets, "&" without "-", bad base64,
// non-zero or superfluous padding bits, unpaired surrogates, encoded printable ASCII, and
// adjacent encoded runs ("&AGE-&AGE-") are refused, so each name has one spelling.
tl::expected<std::string, NameError> mutf7_decode(std::string_view mutf7);

// Checks a UTF-8 name against valija's namespace and returns it with a first component
// "INBOX" in any case spelled "INBOX" (RFC 9051 §5.1: INBOX is case-insensitive).
tl::expected<std::string, NameError> normalize_mailbox_name(std::string_view utf8, const ParserLimits& limits);

// A mailbox argument as sent → normalised UTF-8 name. `utf8_mode`: UTF8=ACCEPT or
// IMAP4rev2 is enabled, so the argument is UTF-8 and "&" is an ordinary character.
tl::expected<std::string, NameError> mailbox_from_wire(std::string_view wire, bool utf8_mode, const ParserLimits& limits);
// A UTF-8 name → its wire form (mUTF-7 unless utf8_mode); quoting is output.hpp's job.
std::string mailbox_to_wire(std::string_view utf8, bool utf8_mode);

// LIST/LSUB matching of reference + pattern (RFC 9051 §6.3.9): "*" matches anything,
// "%" anything but "/". Both are UTF-8 (the session decodes the pattern with
// mutf7_decode, which leaves wildcards alone). Matching is a row-by-row NFA simulation,
// O(name · pattern) with no backtracking; a pattern with more literal octets than the
// longest name matches nothing and costs nothing.
class ListPattern {
 public:
  ListPattern(std::string_view reference, std::string_view pattern, const ParserLimits& limits = {});
  bool matches(std::string_view name) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;  // reference + pattern, runs of wildcards collapsed
  bool impossible_ = false;
};

}  // namespace valija::imap::proto
