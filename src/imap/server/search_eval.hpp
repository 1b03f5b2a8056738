#pragma once
// Evaluates a SEARCH program (RFC 9051 §6.4.4) against the messages of the selected
// mailbox. Strings are compared after decoding (RFC 2047 words, transfer encodings,
// charsets) and Unicode case folding, so "año" finds "AÑO" in a base64 ISO-8859-1 body.
// What a key needs is read lazily per message: flags, dates and sizes come from the
// view; FROM/TO/CC/BCC/SUBJECT and SENT* from the cached envelope (no blob read); other
// header fields from the stored header; BODY and TEXT from the whole message.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "imap/proto/search.hpp"
#include "imap/server/mailbox_view.hpp"
#include "imap/server/message_data.hpp"

namespace valija::imap::server {

struct SearchScopeInfo {
  std::uint32_t exists = 0;   // "*" among sequence numbers
  std::uint32_t max_uid = 0;  // "*" among UIDs
  const std::vector<std::uint32_t>* saved = nullptr;  // "$" (RFC 5182): UIDs
  bool recent = true;  // IMAP4rev1 \Recent semantics (RECENT, NEW, OLD)
};

class SearchEvaluator {
 public:
  // Errc::Invalid when the charset is unknown (the session answers NO [BADCHARSET]).
  static Result<SearchEvaluator> prepare(const proto::SearchKey& program, const std::optional<std::string>& charset,
                                         SearchScopeInfo scope);
  // Whether the program reads message structure (the session preloads it in one batch).
  bool needs_structure() const { return needs_structure_; }
  // NotFound when the message's data is gone.
  Result<bool> matches(std::uint32_t seq, const ViewMessage& v, MessageData& source);
  // The highest MODSEQ among matches, for RFC 7162 §3.1.5.
  bool uses_modseq() const { return uses_modseq_; }

 private:
  struct Message;  // what was read of the message being evaluated
  Result<bool> eval(const proto::SearchKey& k, Message& m);
  Result<bool> header_contains(Message& m, std::string_view field, const std::string& needle);
  Result<bool> text_contains(Message& m, bool whole, const std::string& needle);

  proto::SearchKey program_;  // strings already UTF-8 and case-folded
  SearchScopeInfo scope_;
  bool needs_structure_ = false;
  bool uses_modseq_ = false;
};

// The date of an RFC 5322 date-time ("Tue, 1 Jul 2003 10:52:37 +0200"), as days since
// the epoch, ignoring time and zone (RFC 9051 §6.4.4 SENTON); nullopt when unreadable.
std::optional<std::int64_t> rfc5322_days(std::string_view date);

}  // namespace valija::imap::server
