#include "mail/fold_case.hpp"

#include <algorithm>

#include "mail/charset.hpp"
#include "mail/fold_case_table.hpp"

namespace valija::mail {
namespace {

// Decodes the sequence at s[i] (already known well formed).
char32_t decode_at(std::string_view s, std::size_t i, std::size_t n) {
  auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

std::size_t seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

}  // namespace

std::string fold_case(std::string_view in) {
  std::string clean;
  bool ascii = true;
  for (unsigned char c : in)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (!ascii) {
    clean = sanitize_utf8(in);
    in = clean;
  }
  std::string out;
  out.reserve(in.size());
  const auto* single_end = detail::kFoldSingle + detail::kFoldSingleCount;
  const auto* multi_end = detail::kFoldMulti + detail::kFoldMultiCount;
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t n = seq_len(c);
    char32_t cp = decode_at(in, i, n);
    auto s = std::lower_bound(detail::kFoldSingle, single_end, cp,
                              [](const detail::FoldSingle& e, char32_t v) { return e.from < v; });
    if (s != single_end && s->from == cp) {
      append_utf8(out, s->to);
    } else {
      auto m = std::lower_bound(detail::kFoldMulti, multi_end, cp,
                                [](const detail::FoldMulti& e, char32_t v) { return e.from < v; });
      if (m != multi_end && m->from == cp) out += m->to;
      else out.append(in.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace valija::mail
