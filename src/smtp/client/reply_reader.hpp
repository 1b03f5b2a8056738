#pragma once
// The SMTP client's side of RFC 5321 §4.2: the server's replies, read from a byte
// stream. Pure and bounded: a line longer than `line_max`, a reply of more than
// `lines_max` lines, a malformed code or a code that changes between the lines of one
// reply is an error, after which the connection cannot be trusted and is closed.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "smtp/proto/reply.hpp"

namespace valija::smtp::client {

struct ReplyLimits {
  std::size_t line_max = 4096;  // RFC 5321 §4.5.3.1.5 says 512; real servers write more
  std::size_t lines_max = 256;  // a long EHLO or a chatty banner fits easily
};

class ReplyReader {
 public:
  explicit ReplyReader(ReplyLimits limits = {}) : limits_(limits) {}
  // Bytes from the server; keep calling next() until it returns nullopt.
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next complete reply, an error, or nullopt when more bytes are needed.
  std::optional<Result<proto::Reply>> next();
  // Bytes received but not yet part of a reply (STARTTLS: must be none).
  bool has_pending() const { return pos_ < buf_.size() || !partial_.lines.empty(); }

 private:
  ReplyLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;
  proto::Reply partial_;  // lines so far of a multi-line reply
  bool failed_ = false;
};

// "2.1.5 " at the start of `text` (RFC 3463: class 2, 4 or 5 matching the reply's
// first digit, subject 0-999, detail 0-999): the code, else "".
std::string_view enhanced_status(std::string_view text, int reply_code);

}  // namespace valija::smtp::client
