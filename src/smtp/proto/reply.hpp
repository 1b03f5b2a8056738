#pragma once
// SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463) on every line.
#include <string>
#include <string_view>
#include <vector>

namespace valija::smtp::proto {

struct Reply {
  int code = 0;
  std::string status;               // enhanced status code, e.g. "2.1.0"; empty for 220/221 greeting lines
  std::vector<std::string> lines;   // one text per line; a multi-line reply when size() > 1

  Reply() = default;
  Reply(int c, std::string st, std::string text) : code(c), status(std::move(st)), lines{std::move(text)} {}

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  // Wire form: "250-..." continuation lines and a final "250 ...", each ending CRLF.
  std::string wire() const;
  // First line without CRLF, for logs: "550 5.1.1 User unknown".
  std::string summary() const;
};

}  // namespace valija::smtp::proto
