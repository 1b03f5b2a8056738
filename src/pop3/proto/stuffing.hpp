#pragma once
// Streaming a message as a POP3 multi-line response (RFC 1939 §3): byte-stuffing and the
// TOP cut, both chunk by chunk so a message is never held whole. Pure: no I/O.
//
//   DotStuffer stuff;  TopCutter cut(n);            // cut only for TOP
//   for each chunk read from the blob:
//     auto keep = top ? cut.feed(chunk) : chunk.size();
//     stuff.feed(chunk.substr(0, keep), out);  write(out);
//     if (top && cut.done()) break;                 // the rest is not needed
//   stuff.finish(out);  write(out);                 // CRLF if missing, then ".\r\n"
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mail/dot_stuffer.hpp"

namespace valija::pop3::proto {

using DotStuffer = mail::DotStuffer;

// TOP msg n (RFC 1939 §7): the header, the blank line after it, then n body lines; the
// whole message when it has fewer (or has no blank line at all).
class TopCutter {
 public:
  explicit TopCutter(std::uint64_t body_lines) : lines_(body_lines) {}
  // How many leading octets of `chunk` belong to the response. Less than chunk.size()
  // only when the cut falls inside it; from then on done() is true and feed returns 0.
  std::size_t feed(std::string_view chunk);
  bool done() const { return done_; }

 private:
  enum class Line : std::uint8_t { Start, OnlyCr, Text };
  std::uint64_t lines_;
  std::uint64_t seen_ = 0;  // body lines passed so far
  bool in_header_ = true;
  Line line_ = Line::Start;
  bool done_ = false;
};

}  // namespace valija::pop3::proto
