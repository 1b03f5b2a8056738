// Submission fix-ups (mail/submission.cpp): any message. The body is never touched,
// no Bcc field survives in the header, Date and Message-ID are there afterwards.
#include <cstdint>
#include <string_view>

#include "base/text.hpp"
#include "mail/submission.hpp"

using namespace valija;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = mail::prepare_submission(in, "Fri, 27 Nov 2026 10:00:00 +0000", "id@fuzz.example", 4096);
  if (!s.header_complete) {
    if (s.message != in) __builtin_trap();
    return 0;
  }
  std::string_view out = s.message;
  // The body (after the first empty line) is the same.
  auto body_of = [](std::string_view m) {
    std::size_t pos = 0;
    while (pos < m.size()) {
      auto nl = m.find('\n', pos);
      if (nl == std::string_view::npos) return std::string_view();
      auto line = m.substr(pos, nl - pos);
      if (line.empty() || line == "\r") return m.substr(nl + 1);
      pos = nl + 1;
    }
    return std::string_view();
  };
  if (body_of(out) != body_of(in)) __builtin_trap();
  std::size_t pos = 0;
  bool date = false, id = false;
  while (pos < out.size()) {
    auto nl = out.find('\n', pos);
    auto line = out.substr(pos, nl - pos);
    if (line.empty() || line == "\r") break;
    // RFC 5322 §4.5.3 (obsolete syntax): white space may come before the colon.
    auto colon = line.find(':');
    auto name = colon == std::string_view::npos || line[0] == ' ' || line[0] == '\t' ? std::string_view()
                                                                                      : text::trim(line.substr(0, colon));
    if (text::iequals(name, "bcc")) __builtin_trap();
    date |= text::iequals(name, "date");
    id |= text::iequals(name, "message-id");
    pos = nl + 1;
  }
  if (!s.added_date && !s.added_message_id) return 0;
  if (!date || !id) __builtin_trap();
  return 0;
}
