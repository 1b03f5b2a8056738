#include "policy/tag_list.hpp"

#include <fmt/format.h>

namespace valija::policy {

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// tag-name = ALPHA *ALNUMPUNC
bool valid_tag_name(std::string_view n) {
  if (n.empty() || !is_alpha(n[0])) return false;
  for (char c : n)
    if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
  return true;
}

// VALCHAR (%x21-3A / %x3C-7E) and FWS; octets above 0x7f are let through for UTF-8 in
// i= and d= (RFC 8616 §4).
bool valid_tag_value(std::string_view v) {
  for (unsigned char c : v)
    if ((c < 0x21 && !is_fws(static_cast<char>(c))) || c == 0x7f) return false;
  return true;
}

}  // namespace

Result<std::vector<Tag>> parse_tag_list(std::string_view text, std::size_t max_tags) {
  std::vector<Tag> tags;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto semi = text.find(';', pos);
    if (semi == std::string_view::npos) semi = text.size();
    auto spec = text.substr(pos, semi - pos);
    auto spec_begin = pos;
    pos = semi + 1;
    if (trim_fws(spec).empty()) continue;
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) return fail(Errc::Invalid, "tag without '='");
    auto name = trim_fws(spec.substr(0, eq));
    if (!valid_tag_name(name)) return fail(Errc::Invalid, "bad tag name");
    auto value = trim_fws(spec.substr(eq + 1));
    if (!valid_tag_value(value)) return fail(Errc::Invalid, fmt::format("bad character in {}= tag", name));
    if (find_tag(tags, name)) return fail(Errc::Invalid, fmt::format("duplicate {}= tag", name));
    if (tags.size() >= max_tags) return fail(Errc::Invalid, "too many tags");
    tags.push_back({name, value, spec_begin + eq + 1, semi});
  }
  return tags;
}

const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const auto& t : tags)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace valija::policy
