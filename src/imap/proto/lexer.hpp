#pragma once
// Lexer over one assembled command as the CommandReader delivers it: lines joined by
// CRLF, each literal inline as "{n}\r\n" (or "{n+}", "~{n}") followed by its n octets.
// Every method consumes on success and records the first failure (sticky) on error; the
// parsers turn that into a ParseError. Error texts never quote the input.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imap/proto/datetime.hpp"
#include "imap/proto/error.hpp"
#include "imap/proto/limits.hpp"
#include "imap/proto/sequence_set.hpp"

namespace valija::imap::proto {

// RFC 9051 §9 character classes (CHAR is 7-bit; 8-bit octets are never atom chars).
bool is_atom_char(char c);     // any CHAR except atom-specials
bool is_astring_char(char c);  // ATOM-CHAR / resp-specials
bool is_list_char(char c);     // ATOM-CHAR / list-wildcards / resp-specials
bool is_tag_char(char c);      // ASTRING-CHAR except "+"

class Lexer {
 public:
  Lexer(std::string_view text, const ParserLimits& limits) : text_(text), limits_(limits) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  char peek_at(std::size_t ahead) const { return text_.size() - pos_ > ahead ? text_[pos_ + ahead] : '\0'; }
  std::size_t pos() const { return pos_; }
  const ParserLimits& limits() const { return limits_; }

  bool fail(std::string text, Code code = Code::None);
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  Code code() const { return code_; }

  bool sp();                  // exactly one SP
  bool eat(char c);           // consumes `c` when it is next; never fails
  bool expect(char c);        // consumes `c` or fails
  bool end();                 // fails unless the whole command was read
  std::string_view peek_atom() const;  // the atom at the cursor, not consumed
  void skip(std::size_t n) { pos_ += n; }
  // Case-insensitive keyword followed by a non-atom character; never fails.
  bool keyword(std::string_view kw);

  bool atom(std::string& out, std::string_view what);
  bool astring(std::string& out, std::string_view what);
  bool string(std::string& out, std::string_view what);  // quoted / literal
  bool nstring(std::optional<std::string>& out, std::string_view what);
  bool list_mailbox(std::string& out);  // 1*list-char / string
  // APPEND's message: literal or literal8 (RFC 3516 §4.2). Content is not checked.
  bool message_literal(std::string& out, bool& binary);

  bool number(std::uint32_t& out, std::string_view what);     // 0..2^32-1
  bool nz_number(std::uint32_t& out, std::string_view what);  // 1..2^32-1
  bool number64(std::uint64_t& out, std::string_view what);   // 0..2^63-1
  // RFC 7162 §7 mod-sequence-value (1..2^63-1), or mod-sequence-valzer with allow_zero.
  bool mod_sequence(std::uint64_t& out, bool allow_zero);
  bool sequence_set(SequenceSet& out);
  bool flag(std::string& out);  // a flag a client may set
  bool flag_list(std::vector<std::string>& out);
  bool date(Date& out);           // date-text, quoted or not
  bool date_time(DateTime& out);  // quoted date-time

 private:
  bool quoted(std::string& out);
  bool literal(std::string& out, bool allow_binary, bool* binary);
  bool digits(std::uint64_t max, std::uint64_t& out, std::string_view what);

  std::string_view text_;
  const ParserLimits& limits_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
  Code code_ = Code::None;
};

}  // namespace valija::imap::proto
