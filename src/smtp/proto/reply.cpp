#include "smtp/proto/reply.hpp"

#include <fmt/format.h>

namespace valija::smtp::proto {

std::string Reply::wire() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    char sep = (i + 1 == lines.size()) ? ' ' : '-';
    if (status.empty())
      out += fmt::format("{}{}{}\r\n", code, sep, lines[i]);
    else
      out += fmt::format("{}{}{} {}\r\n", code, sep, status, lines[i]);
  }
  if (lines.empty()) out = fmt::format("{} {}\r\n", code, status);
  return out;
}

std::string Reply::summary() const {
  std::string first = lines.empty() ? std::string() : lines.front();
  if (status.empty()) return fmt::format("{} {}", code, first);
  return fmt::format("{} {} {}", code, status, first);
}

}  // namespace valija::smtp::proto
