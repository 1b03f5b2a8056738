// DKIM canonicalisation (RFC 6376 §3.4) and header field selection (§5.4.2).
#include "policy/dkim_canon.hpp"

#include <unordered_map>

#include "base/text.hpp"
#include "policy/dkim_internal.hpp"

namespace valija::policy::dkim {
namespace {

using detail::is_wsp;

// One line of `s` from `pos`: its content (line end excluded) and where the next starts.
struct Line {
  std::string_view content;
  std::size_t next = 0;
  bool terminated = false;
};

Line line_at(std::string_view s, std::size_t pos) {
  auto nl = s.find('\n', pos);
  if (nl == std::string_view::npos) return {s.substr(pos), s.size(), false};
  auto end = nl;
  if (end > pos && s[end - 1] == '\r') --end;
  return {s.substr(pos, end - pos), nl + 1, true};
}

// RFC 5322 §2.2 field-name: printable US-ASCII except ':'; obs-optional (§4.5) allows
// WSP before the colon.
std::string_view field_name(std::string_view raw) {
  auto colon = raw.find(':');
  if (colon == std::string_view::npos) return {};
  auto name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  if (name.empty()) return {};
  for (char c : name)
    if (c < 0x21 || c > 0x7e) return {};
  return name;
}

// Appends `s` with folding removed: a line end (CRLF or bare LF) inside a field is
// dropped, its continuation's WSP kept (RFC 6376 §3.4.2 "unfold").
void append_unfolded(std::string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') continue;
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
}

// Every run of WSP becomes one SP and WSP at both ends goes (§3.4.2, field values;
// body lines keep a leading SP: relax_line).
std::string collapse_wsp(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (char c : s) {
    if (is_wsp(c)) {
      pending = true;
      continue;
    }
    if (pending && !out.empty()) out.push_back(' ');
    pending = false;
    out.push_back(c);
  }
  return out;
}

void append_relaxed_header(std::string& out, std::string_view raw) {
  auto colon = raw.find(':');
  std::string name, value;
  append_unfolded(name, raw.substr(0, colon));
  if (colon != std::string_view::npos) append_unfolded(value, raw.substr(colon + 1));
  // §3.4.2: lower-case name, no WSP before or after the colon, WSP runs as one SP,
  // none at the end of the value.
  while (!name.empty() && is_wsp(name.back())) name.pop_back();
  for (char c : name) out.push_back(text::lower(c));
  out.push_back(':');
  out += collapse_wsp(value);
  out += "\r\n";
}

// §3.4.1: nothing changes; a bare LF inside the field is written as CRLF, as the
// message would be on the wire.
void append_simple_header(std::string& out, std::string_view raw) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out.push_back('\r');
    out.push_back(raw[i]);
  }
  out += "\r\n";
}

// §3.4.4 relaxed body line: WSP runs become one SP (a leading run too), trailing WSP goes.
void relax_line(std::string_view line, std::string& out) {
  out.clear();
  bool pending = false;
  for (char c : line) {
    if (is_wsp(c)) {
      pending = true;
      continue;
    }
    if (pending) out.push_back(' ');
    pending = false;
    out.push_back(c);
  }
}

// Gathers the many small pieces of a canonicalised body (two per line) into large ones:
// a body of a million empty lines costs a few hash updates, not a million.
class Buffered {
 public:
  explicit Buffered(BodySink& sink) : sink_(sink) {}
  ~Buffered() { flush(); }
  void put(std::string_view bytes) {
    if (bytes.size() >= kFlushAt) {  // a long line goes as it is, never copied
      flush();
      sink_.put(bytes);
      return;
    }
    buffer_.append(bytes);
    if (buffer_.size() >= kFlushAt) flush();
  }
  void flush() {
    if (!buffer_.empty()) sink_.put(buffer_);
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kFlushAt = 64 * 1024;
  BodySink& sink_;
  std::string buffer_;
};

class StringSink final : public BodySink {
 public:
  void put(std::string_view bytes) override { out.append(bytes); }
  std::string out;
};

}  // namespace

namespace {

void split_fields(std::string_view message, std::size_t max_fields, MessageParts& m) {
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto line = line_at(message, pos);
    if (line.content.empty() && line.terminated) {  // the empty line ends the header
      m.body = message.substr(line.next);
      return;
    }
    std::size_t end = static_cast<std::size_t>(line.content.data() - message.data()) + line.content.size();
    if (is_wsp(line.content.front()) && !m.fields.empty()) {
      // A continuation line (RFC 5322 §2.2.3) extends the field above it.
      auto start = static_cast<std::size_t>(m.fields.back().raw.data() - message.data());
      m.fields.back().raw = message.substr(start, end - start);
    } else {
      if (m.fields.size() >= max_fields) {
        m.too_many_fields = true;
        return;
      }
      m.fields.push_back({message.substr(pos, end - pos), {}});
    }
    pos = line.next;
  }
}

}  // namespace

MessageParts split_message(std::string_view message, std::size_t max_fields) {
  MessageParts m;
  split_fields(message, max_fields, m);
  for (auto& f : m.fields) f.name = field_name(f.raw);
  return m;
}

void append_canon_header(std::string& out, Canon c, std::string_view raw_field) {
  if (c == Canon::Relaxed) append_relaxed_header(out, raw_field);
  else append_simple_header(out, raw_field);
}

std::string canon_header(Canon c, std::string_view raw_field) {
  std::string out;
  append_canon_header(out, c, raw_field);
  return out;
}

void canon_body(Canon c, std::string_view body, BodySink& to) {
  Buffered sink(to);
  std::size_t empty_lines = 0;  // held back: §3.4.3/§3.4.4 drop empty lines at the end
  bool any = false;
  std::string relaxed;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto line = line_at(body, pos);
    pos = line.next;
    std::string_view content = line.content;
    if (c == Canon::Relaxed) {
      relax_line(content, relaxed);
      content = relaxed;
    }
    if (content.empty()) {
      ++empty_lines;
      continue;
    }
    for (; empty_lines > 0; --empty_lines) sink.put("\r\n");
    // A last line without a line end gets one (§3.4.3, §3.4.4 with erratum 1384).
    sink.put(content);
    sink.put("\r\n");
    any = true;
  }
  // §3.4.3: an empty simple body is one CRLF; §3.4.4: an empty relaxed body stays empty.
  if (!any && c == Canon::Simple) sink.put("\r\n");
}

std::string canon_body(Canon c, std::string_view body) {
  StringSink sink;
  canon_body(c, body, sink);
  return std::move(sink.out);
}

std::string blank_b_value(std::string_view raw_field) {
  auto colon = raw_field.find(':');
  if (colon == std::string_view::npos) return std::string(raw_field);
  auto value = raw_field.substr(colon + 1);
  auto tags = detail::parse_tag_list(value, kLimits.tags);
  if (!tags) return std::string(raw_field);
  const detail::Tag* b = detail::find_tag(*tags, "b");
  if (!b) return std::string(raw_field);
  std::string out(raw_field.substr(0, colon + 1 + b->value_begin));
  out.append(raw_field.substr(colon + 1 + b->value_end));
  return out;
}

std::vector<const HeaderField*> select_headers(const MessageParts& m, std::span<const std::string> names,
                                               const HeaderField* exclude) {
  // Index the fields once: the instances of each wanted name, top to bottom.
  std::unordered_map<std::string, std::vector<const HeaderField*>> instances;
  for (const auto& n : names) instances.try_emplace(n);
  for (const auto& f : m.fields) {
    if (f.name.empty() || &f == exclude) continue;
    auto it = instances.find(text::to_lower(f.name));
    if (it != instances.end()) it->second.push_back(&f);
  }
  std::vector<const HeaderField*> chosen;
  for (const auto& n : names) {
    auto& left = instances[n];
    if (left.empty()) continue;  // oversigned or absent: contributes nothing
    chosen.push_back(left.back());
    left.pop_back();
  }
  return chosen;
}

}  // namespace valija::policy::dkim
