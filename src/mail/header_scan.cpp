#include "mail/header_scan.hpp"

#include "base/text.hpp"

namespace valija::mail {
namespace {

std::string capped(std::string_view v, std::size_t cap) {
  v = text::trim(v);
  std::string out;
  for (char c : v) {
    if (out.size() >= cap) break;
    if (c == '\r' || c == '\n') continue;
    out += (c == '\t') ? ' ' : c;
  }
  return out;
}

}  // namespace

HeaderSummary scan_headers(std::string_view msg, std::size_t max_scan) {
  HeaderSummary s;
  std::string_view in = msg.substr(0, max_scan);
  std::size_t pos = 0;
  std::string_view current_name;
  std::string* current_value = nullptr;
  while (pos < in.size()) {
    auto lf = in.find('\n', pos);
    if (lf == std::string_view::npos) break;  // unterminated line: header scan stops here
    auto line = in.substr(pos, lf - pos);
    std::size_t next = lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      s.header_bytes = next;
      s.complete = true;
      return s;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (current_value && current_value->size() < 200) *current_value += " " + capped(line, 200);  // unfolded (RFC 5322 §2.2.3)
    } else {
      auto colon = line.find(':');
      current_value = nullptr;
      if (colon == std::string_view::npos) {
        // Not a header field: the header section ended without a blank line (RFC 5322 §3.5
        // body starts here). Treat as body.
        s.header_bytes = pos;
        s.complete = true;
        return s;
      }
      current_name = text::trim(line.substr(0, colon));
      auto value = line.substr(colon + 1);
      if (text::iequals(current_name, "Received")) {
        ++s.received;
      } else if (text::iequals(current_name, "Subject") && s.subject.empty()) {
        s.subject = capped(value, 200);
        current_value = &s.subject;
      } else if (text::iequals(current_name, "Message-ID") && s.message_id.empty()) {
        s.message_id = capped(value, 200);
      }
    }
    pos = next;
  }
  s.header_bytes = pos;
  return s;
}

}  // namespace valija::mail
