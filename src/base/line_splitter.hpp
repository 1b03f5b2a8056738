#pragma once
// Splits a byte stream into protocol lines with a hard cap. Pure: no I/O.
// Lines are cut lazily in next(), so bytes after the current line (pipelined
// commands, BDAT chunk data) are never touched until asked for.
#include <cstddef>
#include <string>
#include <string_view>

namespace valija {

class LineSplitter {
 public:
  enum class Status { Line, NeedMore, TooLong };

  explicit LineSplitter(std::size_t max_line) : max_(max_line) {}

  // Appends received bytes. The caller feeds only after next() said NeedMore, so the
  // buffer stays below max_line plus one read.
  void feed(std::string_view bytes);

  // Next complete line without its terminator (CRLF, or a bare LF, which command
  // mode tolerates). TooLong: a line longer than the cap (terminator included) was
  // discarded; it is reported once, when its end arrives.
  Status next(std::string& line);

  bool has_pending() const { return pos_ < buf_.size(); }
  // Takes the unread bytes out (when switching to the DATA/BDAT readers).
  std::string take_pending();
  // Drops everything buffered (RFC 3207: input pipelined after STARTTLS is discarded).
  void clear();

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool discarding_ = false;  // inside a too-long line, waiting for its LF
};

}  // namespace valija
