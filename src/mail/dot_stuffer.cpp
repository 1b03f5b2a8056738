#include "mail/dot_stuffer.hpp"

namespace valija::mail {

void DotStuffer::feed(std::string_view chunk, std::string& out) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (line_start_) {
      if (chunk[i] == '.') out += '.';  // RFC 5321 §4.5.2, RFC 1939 §3: stuff the termination octet
      line_start_ = false;
    }
    auto nl = chunk.find('\n', i);
    if (nl == std::string_view::npos) {
      out.append(chunk.substr(i));
      prev_cr_ = chunk.back() == '\r';
      return;
    }
    out.append(chunk.substr(i, nl - i));
    bool cr_before = nl > i ? chunk[nl - 1] == '\r' : prev_cr_;
    out += cr_before ? "\n" : "\r\n";
    line_start_ = true;
    prev_cr_ = false;
    i = nl + 1;
  }
}

void DotStuffer::finish(std::string& out) {
  // The end is CRLF "." CRLF, so the last line needs its CRLF.
  if (!line_start_) out += prev_cr_ ? "\n" : "\r\n";
  out += ".\r\n";
  line_start_ = true;
  prev_cr_ = false;
}

}  // namespace valija::mail
