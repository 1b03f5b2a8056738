#include "mail/submission.hpp"

#include "base/text.hpp"
#include "mail/address_list.hpp"

namespace valija::mail {
namespace {

// The field name of a header line ("From" of "From: x"), empty for a continuation line
// or a line without a colon.
std::string_view field_name(std::string_view line) {
  if (line.empty() || line.front() == ' ' || line.front() == '\t') return {};
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  return text::trim(line.substr(0, colon));
}

}  // namespace

Submission prepare_submission(std::string_view message, std::string_view date, std::string_view message_id,
                              std::size_t max_header) {
  Submission s;
  // Split the header section into fields (a field and its continuation lines).
  struct Field {
    std::string_view name;
    std::size_t begin, end;  // octets of the field, line ends included
  };
  std::vector<Field> fields;
  std::size_t pos = 0, body = std::string_view::npos, blank = 0;
  while (pos < message.size() && pos < max_header) {
    auto nl = message.find('\n', pos);
    if (nl == std::string_view::npos) break;  // no end of line: not a complete header
    std::string_view line = message.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      blank = pos;  // the empty line ending the header
      body = nl + 1;
      break;
    }
    auto name = field_name(line);
    if (!name.empty() || fields.empty() || (line.front() != ' ' && line.front() != '\t'))
      fields.push_back(Field{name, pos, nl + 1});
    else
      fields.back().end = nl + 1;  // a continuation
    pos = nl + 1;
  }
  if (body == std::string_view::npos) {
    s.message.assign(message);
    return s;
  }
  s.header_complete = true;
  bool has_date = false, has_id = false;
  std::string out;
  out.reserve(message.size() + 128);
  for (const auto& f : fields) {
    if (text::iequals(f.name, "Bcc")) {
      ++s.removed_bcc;
      continue;
    }
    has_date |= text::iequals(f.name, "Date");
    has_id |= text::iequals(f.name, "Message-ID");
    if (text::iequals(f.name, "From")) {
      ++s.from_fields;
      auto raw = message.substr(f.begin, f.end - f.begin);
      raw.remove_prefix(raw.find(':') + 1);
      for (const auto& a : parse_address_list(raw, 100))
        if (a.mailbox && a.host) s.from.push_back(*a.mailbox + "@" + *a.host);
    }
    out.append(message.substr(f.begin, f.end - f.begin));
  }
  if (!has_date) {
    out += "Date: ";
    out += date;
    out += "\r\n";
    s.added_date = true;
  }
  if (!has_id) {
    out += "Message-ID: <";
    out += message_id;
    out += ">\r\n";
    s.added_message_id = true;
  }
  out.append(message.substr(blank));  // the empty line and the body
  s.message = std::move(out);
  return s;
}

}  // namespace valija::mail
