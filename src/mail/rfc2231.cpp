#include "mail/rfc2231.hpp"

#include <algorithm>
#include <map>

#include "base/text.hpp"
#include "mail/charset.hpp"
#include "mail/rfc2047.hpp"

namespace valija::mail {
namespace {

// `name`, `name*`, `name*N` or `name*N*` (RFC 2231 §3, §4).
struct ParamName {
  std::string_view base;
  int section = -1;  // -1: not numbered
  bool extended = false;
  bool plain = true;  // no RFC 2231 syntax at all
};

ParamName split_name(std::string_view name) {
  ParamName p;
  p.base = name;
  auto star = name.find('*');
  if (star == std::string_view::npos || star == 0) return p;
  auto rest = name.substr(star + 1);
  p.base = name.substr(0, star);
  p.plain = false;
  if (rest.empty()) {  // name*
    p.extended = true;
    return p;
  }
  if (rest.back() == '*') {
    p.extended = true;
    rest.remove_suffix(1);
  }
  // Section numbers are decimal without leading zeros (RFC 2231 §7 "section := "0" / [1-9] *DIGIT").
  bool digits = !rest.empty() && rest.size() <= 3 && (rest.size() == 1 || rest[0] != '0');
  for (char c : rest)
    if (c < '0' || c > '9') digits = false;
  if (!digits) return ParamName{name, -1, false, true};  // something else with a '*': keep as written
  p.section = static_cast<int>(*text::parse_u64(rest));
  return p;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex_value(v[i + 1]) >= 0 && hex_value(v[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(v[i + 1]) * 16 + hex_value(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

// RFC 2231 §7 attribute-char: CHAR except SPACE, CTLs, "*", "'", "%" and tspecials.
bool attribute_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  return std::string_view("*'%()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

std::string percent_encode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (attribute_char(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct Extended {
  std::string_view charset, language, text;
};

std::optional<Extended> split_extended(std::string_view v) {
  auto q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  return Extended{v.substr(0, q1), v.substr(q1 + 1, q2 - q1 - 1), v.substr(q2 + 1)};
}

std::string utf8_extended(std::string_view language, std::string_view utf8) {
  return "utf-8'" + std::string(language) + "'" + percent_encode(utf8);
}

// Joins one group of numbered pieces (already checked to be 0..n-1, in order).
MimeParam join_group(std::string_view base, const std::vector<const MimeParam*>& pieces,
                     const std::vector<ParamName>& names) {
  bool any_extended = false;
  for (const auto& n : names) any_extended |= n.extended;
  MimeParam out;
  if (!any_extended) {
    out.name = std::string(base);
    for (const auto* p : pieces) out.value += p->value;
    return out;
  }
  std::string_view charset, language;
  std::string octets;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    std::string_view v = pieces[i]->value;
    if (i == 0 && names[0].extended) {
      // RFC 2231 §4.1: only the first piece carries charset'language'.
      if (auto e = split_extended(v)) {
        charset = e->charset;
        language = e->language;
        v = e->text;
      }
    }
    octets += names[i].extended ? percent_decode(v) : std::string(v);
  }
  out.name = std::string(base) + "*";
  out.value = utf8_extended(language, to_utf8(octets, charset));
  return out;
}

}  // namespace

std::optional<std::string> decode_extended_value(std::string_view value, std::string* language) {
  auto e = split_extended(value);
  if (!e) return std::nullopt;
  if (language) *language = std::string(e->language);
  return to_utf8(percent_decode(e->text), e->charset);
}

std::vector<MimeParam> join_rfc2231(const std::vector<MimeParam>& raw) {
  std::vector<ParamName> names;
  names.reserve(raw.size());
  // Groups of numbered pieces by lower-cased base name: indexes into raw.
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    names.push_back(split_name(raw[i].name));
    if (names[i].section >= 0) groups[text::to_lower(names[i].base)].push_back(i);
  }
  std::map<std::string, bool> valid;
  for (auto& [key, idx] : groups) {
    std::vector<int> sections;
    for (auto i : idx) sections.push_back(names[i].section);
    std::sort(sections.begin(), sections.end());
    bool ok = true;
    for (std::size_t k = 0; k < sections.size(); ++k) ok &= sections[k] == static_cast<int>(k);
    valid[key] = ok;
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return names[a].section < names[b].section; });
  }
  std::vector<MimeParam> out;
  std::map<std::string, bool> emitted;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto& n = names[i];
    if (n.plain) {
      out.push_back(raw[i]);
    } else if (n.section < 0) {  // name*=charset'lang'value
      auto e = split_extended(raw[i].value);
      if (!e) {
        out.push_back(raw[i]);
        continue;
      }
      out.push_back({std::string(n.base) + "*",
                     utf8_extended(e->language, to_utf8(percent_decode(e->text), e->charset))});
    } else {
      auto key = text::to_lower(n.base);
      if (!valid[key]) {
        out.push_back(raw[i]);
        continue;
      }
      if (emitted[key]) continue;
      emitted[key] = true;
      std::vector<const MimeParam*> pieces;
      std::vector<ParamName> piece_names;
      for (auto k : groups[key]) {
        pieces.push_back(&raw[k]);
        piece_names.push_back(names[k]);
      }
      out.push_back(join_group(names[groups[key][0]].base, pieces, piece_names));
    }
  }
  return out;
}

const std::string* find_param(const std::vector<MimeParam>& params, std::string_view name) {
  for (const auto& p : params)
    if (text::iequals(p.name, name)) return &p.value;
  return nullptr;
}

std::optional<std::string> param_text(const std::vector<MimeParam>& params, std::string_view name) {
  std::string ext = std::string(name) + "*";
  if (const auto* v = find_param(params, ext))
    if (auto d = decode_extended_value(*v)) return d;
  if (const auto* v = find_param(params, name)) return decode_rfc2047(*v);
  return std::nullopt;
}

}  // namespace valija::mail
