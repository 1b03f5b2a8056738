#include "policy/tag_list.hpp"

#include <fmt/format.h>

#include "base/text.hpp"

namespace valija::policy {
namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view n) {
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

Result<TagList> parse_tag_list(std::string_view text) {
  TagList out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto semi = text.find(';', start);
    auto spec = trim_fws(text.substr(start, semi == std::string_view::npos ? text.npos : semi - start));
    start = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
    if (spec.empty()) continue;
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) return fail(Errc::Invalid, fmt::format("tag without '=': {:.40}", spec));
    auto name = trim_fws(spec.substr(0, eq));
    if (!valid_name(name)) return fail(Errc::Invalid, fmt::format("invalid tag name: {:.40}", name));
    for (const auto& [n, v] : out)
      if (n == name) return fail(Errc::Invalid, fmt::format("duplicate tag {}", name));
    if (out.size() == kMaxTags) return fail(Errc::Invalid, "too many tags");
    out.emplace_back(std::string(name), std::string(trim_fws(spec.substr(eq + 1))));
  }
  return out;
}

}  // namespace valija::policy
