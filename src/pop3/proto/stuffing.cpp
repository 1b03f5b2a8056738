#include "pop3/proto/stuffing.hpp"

namespace valija::pop3::proto {

std::size_t TopCutter::feed(std::string_view chunk) {
  if (done_) return 0;
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (!in_header_ && line_ != Line::Start) {
      // Inside a body line: skip to its end without looking at each octet.
      auto nl = chunk.find('\n', i);
      if (nl == std::string_view::npos) return chunk.size();
      i = nl;
    }
    char c = chunk[i++];
    if (c == '\n') {
      if (in_header_) {
        if (line_ != Line::Text) {  // the blank line ends the header (RFC 5322 §2.1)
          in_header_ = false;
          if (lines_ == 0) done_ = true;
        }
      } else if (++seen_ >= lines_) {
        done_ = true;
      }
      line_ = Line::Start;
      if (done_) return i;
    } else if (c == '\r' && line_ == Line::Start) {
      line_ = Line::OnlyCr;
    } else {
      line_ = Line::Text;
    }
  }
  return chunk.size();
}

}  // namespace valija::pop3::proto
