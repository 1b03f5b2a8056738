#pragma once
// DATA reader (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and finds the end of
// data. Only <CRLF>.<CRLF> ends the data. A bare CR or bare LF never ends it and is
// recorded, so the engine can reject the message (SMTP smuggling defence, as Postfix's
// smtpd_forbid_bare_newline = reject). Pure push object: feed() bytes, read status.
#include <cstdint>
#include <string>
#include <string_view>

namespace valija::smtp::proto {

// True when `content` holds a CR not followed by LF or an LF not preceded by CR.
bool has_bare_newline(std::string_view content);

class DataReader {
 public:
  // Content beyond max_size is counted but not kept.
  explicit DataReader(std::uint64_t max_size) : max_(max_size) {}

  // Consumes bytes up to and including the end-of-data marker. Returns how many bytes
  // of `in` were consumed; the rest belongs to the next command.
  std::size_t feed(std::string_view in);

  bool done() const { return state_ == State::Done; }
  bool too_big() const { return size_ > max_; }
  bool bare_newline() const { return bare_cr_ || bare_lf_; }
  bool bare_lf() const { return bare_lf_; }
  bool bare_cr() const { return bare_cr_; }
  std::uint64_t size() const { return size_; }   // unstuffed octets seen, kept or not
  std::string& content() { return out_; }        // CRLF line endings, dot-stuffing removed
  // Stops keeping content (the server is short of memory): what was kept is freed and
  // the rest is only counted, so the end of data is still found.
  void drop();
  bool dropped() const { return dropped_; }

 private:
  enum class State { LineStart, Mid, Cr, Dot, DotCr, Done };
  void emit(char c);
  void emit_run(std::string_view run);
  void mid(char c);

  std::uint64_t max_;
  std::uint64_t size_ = 0;
  std::string out_;
  State state_ = State::LineStart;
  bool bare_cr_ = false;
  bool bare_lf_ = false;
  bool dropped_ = false;
};

}  // namespace valija::smtp::proto
