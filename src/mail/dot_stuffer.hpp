#pragma once
// Dot-stuffing a message for a protocol that ends it with a line holding a single '.':
// SMTP DATA (RFC 5321 §4.5.2) and POP3 multi-line responses (RFC 1939 §3). Chunk by
// chunk, so a message is never held whole. Pure: no I/O.
#include <string>
#include <string_view>

namespace valija::mail {

class DotStuffer {
 public:
  // Appends `chunk` to `out` with a '.' added before every line that starts with '.'.
  // A bare LF becomes CRLF: a receiver that splits lines on LF must not see a lone "."
  // line inside the message (the end marker), so every line it can see is stuffed. A
  // bare CR is left alone (SMTP refuses it on the way in).
  void feed(std::string_view chunk, std::string& out);
  // Ends the message: CRLF if the message did not end with a line break, then ".\r\n".
  void finish(std::string& out);

 private:
  bool line_start_ = true;
  bool prev_cr_ = false;
};

}  // namespace valija::mail
