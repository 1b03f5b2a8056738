#include "mail/header.hpp"

#include "base/text.hpp"

namespace valija::mail {
namespace {

// End of the line starting at `pos`: index just past its LF, or the block size.
std::size_t line_end(std::string_view s, std::size_t pos) {
  auto lf = s.find('\n', pos);
  return lf == std::string_view::npos ? s.size() : lf + 1;
}

// The line's content without its CRLF / LF terminator.
std::string_view line_text(std::string_view s, std::size_t begin, std::size_t end) {
  auto line = s.substr(begin, end - begin);
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<HeaderField> HeaderReader::next() {
  if (done_ || pos_ >= block_.size()) {
    done_ = true;
    return std::nullopt;
  }
  std::size_t first_end = line_end(block_, pos_);
  auto first = line_text(block_, pos_, first_end);
  if (first.empty()) {  // the blank line ending the header (RFC 5322 §2.1)
    done_ = true;
    return std::nullopt;
  }
  HeaderField f;
  f.begin = pos_;
  std::size_t end = first_end;
  // Continuation lines start with WSP (RFC 5322 §2.2.3).
  while (end < block_.size() && (block_[end] == ' ' || block_[end] == '\t')) end = line_end(block_, end);
  f.end = end;
  auto raw = block_.substr(f.begin, end - f.begin);
  if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  auto colon = first.find(':');
  if (colon == std::string_view::npos) {
    f.name = text::trim(first);
    f.value = raw.substr(first.size());
  } else {
    auto name = first.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    f.name = name;
    f.value = raw.substr(colon + 1);
  }
  pos_ = end;
  return f;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

std::string unfold_trim_leading(std::string_view value) {
  std::size_t i = 0;
  while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n')) ++i;
  return unfold(value.substr(i));
}

std::string collapse_whitespace(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::optional<std::string_view> find_field(std::string_view block, std::string_view name) {
  HeaderReader r(block);
  while (auto f = r.next())
    if (text::iequals(f->name, name)) return f->value;
  return std::nullopt;
}

std::string select_fields(std::string_view block, std::span<const std::string_view> names,
                          bool exclude) {
  std::string out;
  HeaderReader r(block);
  while (auto f = r.next()) {
    bool match = false;
    for (auto n : names)
      if (text::iequals(f->name, n)) {
        match = true;
        break;
      }
    if (match == exclude) continue;
    auto raw = block.substr(f->begin, f->end - f->begin);
    out.append(raw);
    if (raw.empty() || raw.back() != '\n') out += "\r\n";
  }
  // RFC 3501 §6.4.5: the delimiting blank line is included when the message has one.
  auto p = r.position();
  if (p < block.size()) out.append(block.substr(p, line_end(block, p) - p));
  return out;
}

}  // namespace valija::mail
