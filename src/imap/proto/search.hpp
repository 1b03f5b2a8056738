#pragma once
// SEARCH programs (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 5182 "$")
// as a tree. The parser bounds nesting (ParserLimits::search_depth: parentheses, NOT and
// OR together) and the number of keys (search_keys), so evaluating a program costs at
// most search_keys steps per message.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imap/proto/datetime.hpp"
#include "imap/proto/sequence_set.hpp"

namespace valija::imap::proto {

enum class SearchOp : std::uint8_t {
  All,
  And,      // "(" key *(SP key) ")" and the top-level list: children
  Or,       // children[0] OR children[1]
  Not,      // NOT children[0]
  Seq,      // sequence-set (set; may be "$")
  Uid,      // UID sequence-set (set)
  // Flags
  Answered, Deleted, Draft, Flagged, Seen, Recent, New, Old,
  Unanswered, Undeleted, Undraft, Unflagged, Unseen,
  Keyword, Unkeyword,  // text = the keyword as sent
  // Header and body text (text = the string, undecoded: Search::charset names its charset)
  Bcc, Body, Cc, From, Subject, Text, To,
  Header,  // text = field name, value = the string
  // Dates (date); internal date for Before/On/Since, Date: header for Sent*
  Before, On, Since, SentBefore, SentOn, SentSince,
  Larger, Smaller,  // number = octets
  ModSeq,           // number = mod-sequence; entry when given (RFC 7162 §3.1.5)
};

struct ModSeqEntry {
  enum class Type : std::uint8_t { Priv, Shared, All };
  std::string flag;  // the attr-flag of "/flags/<flag>", e.g. "\\Seen" or a keyword
  Type type = Type::All;
  bool operator==(const ModSeqEntry&) const = default;
};

struct SearchKey {
  SearchOp op = SearchOp::All;
  std::string text;
  std::string value;
  std::uint64_t number = 0;
  Date date;
  SequenceSet set;
  std::optional<ModSeqEntry> entry;
  std::vector<SearchKey> children;
  bool operator==(const SearchKey&) const = default;
};

// RFC 4731 §3.1 / RFC 9051 §6.4.4.1 ESEARCH result options; "RETURN ()" means ALL.
struct SearchReturn {
  bool min = false, max = false, all = false, count = false;
  bool save = false;  // RFC 5182 §2.1
  bool operator==(const SearchReturn&) const = default;
};

}  // namespace valija::imap::proto
