#include "mail/charset.hpp"

#include <iconv.h>

#include <array>
#include <cerrno>

#include "base/text.hpp"

namespace valija::mail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// windows-1252 0x80..0x9F (WHATWG index-windows-1252); the rest of the range is Latin-1.
constexpr std::array<char16_t, 32> kCp1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 §4), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; lo = 0xA0; }
  else if (c == 0xED) { n = 3; hi = 0x9F; }  // no surrogates
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; lo = 0x90; }
  else if (c == 0xF4) { n = 4; hi = 0x8F; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else return 0;
  if (s.size() - i < n) return 0;
  auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

// Appends `piece` unless that would pass max_out; false when full.
bool put(std::string& out, std::string_view piece, std::size_t max_out) {
  if (out.size() + piece.size() > max_out) return false;
  out.append(piece);
  return true;
}

std::string from_cp1252(std::string_view in, std::size_t max_out) {
  std::string out;
  out.reserve(std::min(in.size() + in.size() / 4, max_out));
  for (unsigned char c : in) {
    std::size_t before = out.size();
    if (c < 0x80) out += static_cast<char>(c);
    else append_utf8(out, c < 0xA0 ? kCp1252High[c - 0x80] : c);
    if (out.size() > max_out) {
      out.resize(before);
      break;
    }
  }
  return out;
}

std::string unknown_charset(std::string_view in, std::size_t max_out) {
  if (text::valid_utf8(in)) return sanitize_utf8(in, max_out);  // cuts at a boundary
  return from_cp1252(in, max_out);
}

enum class Builtin { None, Utf8, Ascii, Latin1 };

Builtin builtin(std::string_view name) {
  if (name == "utf-8" || name == "utf8") return Builtin::Utf8;
  if (name == "us-ascii" || name == "ascii" || name == "ansi_x3.4-1968" || name == "iso646-us")
    return Builtin::Ascii;
  if (name == "iso-8859-1" || name == "iso8859-1" || name == "iso_8859-1" || name == "latin1" ||
      name == "l1" || name == "windows-1252" || name == "cp1252" || name == "x-cp1252")
    return Builtin::Latin1;
  return Builtin::None;
}

// Names iconv does not know under the label mail uses (WHATWG Encoding Standard labels).
std::string_view alias(std::string_view name) {
  if (name == "iso-8859-8-i") return "iso-8859-8";
  if (name == "ks_c_5601-1987" || name == "ks_c_5601" || name == "euc-kr") return "cp949";
  if (name == "gb2312" || name == "x-gbk") return "gbk";
  if (name == "x-sjis" || name == "shift-jis" || name == "sjis") return "shift_jis";
  if (name == "tis-620") return "cp874";
  if (name == "x-mac-roman" || name == "macintosh") return "macintosh";
  return name;
}

// A name safe to hand to iconv_open: no '/' (which would select iconv options) and short.
bool plausible_name(std::string_view n) {
  if (n.empty() || n.size() > 40) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '+' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return true;
}

// Per-thread cache of iconv descriptors converting to UTF-8, including names that failed.
class IconvCache {
 public:
  ~IconvCache() {
    for (auto& e : entries_)
      if (e.cd != invalid()) iconv_close(e.cd);
  }
  // nullptr-like invalid() when iconv does not know the charset.
  iconv_t get(const std::string& name) {
    ++clock_;
    for (auto& e : entries_)
      if (e.used && e.name == name) {
        e.last = clock_;
        return e.cd;
      }
    Entry* victim = &entries_[0];
    for (auto& e : entries_) {
      if (!e.used) {
        victim = &e;
        break;
      }
      if (e.last < victim->last) victim = &e;
    }
    if (victim->used && victim->cd != invalid()) iconv_close(victim->cd);
    victim->used = true;
    victim->name = name;
    victim->last = clock_;
    victim->cd = iconv_open("UTF-8", name.c_str());
    return victim->cd;
  }
  static iconv_t invalid() { return reinterpret_cast<iconv_t>(-1); }

 private:
  struct Entry {
    std::string name;
    iconv_t cd = invalid();
    std::uint64_t last = 0;
    bool used = false;
  };
  std::array<Entry, 16> entries_;
  std::uint64_t clock_ = 0;
};

IconvCache& cache() {
  thread_local IconvCache c;
  return c;
}

std::string via_iconv(iconv_t cd, std::string_view in, std::size_t max_out) {
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state (ISO-2022-JP...)
  std::string out;
  char buf[4096];
  auto* inp = const_cast<char*>(in.data());
  std::size_t inleft = in.size();
  auto flush = [&](char* end) { out.append(buf, static_cast<std::size_t>(end - buf)); };
  while (inleft > 0 && out.size() < max_out) {
    char* outp = buf;
    std::size_t outleft = sizeof buf;
    std::size_t r = iconv(cd, &inp, &inleft, &outp, &outleft);
    int err = errno;
    flush(outp);
    if (r != static_cast<std::size_t>(-1)) break;
    if (err == E2BIG) continue;
    out.append(kReplacement);
    if (err == EILSEQ && inleft > 0) {
      ++inp;
      --inleft;
      continue;
    }
    break;  // EINVAL: incomplete sequence at the end
  }
  char* outp = buf;
  std::size_t outleft = sizeof buf;
  iconv(cd, nullptr, nullptr, &outp, &outleft);
  flush(outp);
  // glibc passes through what it takes for UTF-8 (5- and 6-octet forms under names it
  // normalises to UTF-8, such as "utf-(8"): check the result, and cut at max_out on a
  // character boundary.
  return sanitize_utf8(out, max_out);
}

}  // namespace

void append_utf8(std::string& out, char32_t cp) { text::append_utf8(out, cp); }

std::string sanitize_utf8(std::string_view in, std::size_t max_out) {
  std::string out;
  out.reserve(std::min(in.size(), max_out));
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t n = utf8_sequence(in, i);
    std::string_view piece = n ? in.substr(i, n) : kReplacement;
    if (!put(out, piece, max_out)) break;
    i += n ? n : 1;
  }
  return out;
}

std::string to_utf8(std::string_view in, std::string_view charset, std::size_t max_out) {
  std::string name = text::to_lower(text::trim(charset));
  switch (builtin(name)) {
    case Builtin::Utf8: return sanitize_utf8(in, max_out);
    case Builtin::Ascii: return unknown_charset(in, max_out);
    case Builtin::Latin1: return from_cp1252(in, max_out);
    case Builtin::None: break;
  }
  name = std::string(alias(name));
  if (!plausible_name(name)) return unknown_charset(in, max_out);
  iconv_t cd = cache().get(name);
  if (cd == IconvCache::invalid()) return unknown_charset(in, max_out);
  return via_iconv(cd, in, max_out);
}

bool charset_known(std::string_view charset) {
  std::string name = text::to_lower(text::trim(charset));
  if (builtin(name) != Builtin::None) return true;
  name = std::string(alias(name));
  return plausible_name(name) && cache().get(name) != IconvCache::invalid();
}

}  // namespace valija::mail
