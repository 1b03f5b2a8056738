#include "imap/proto/mailbox_name.hpp"

#include <vector>

#include "base/text.hpp"

namespace valija::imap::proto {
namespace {

// RFC 3501 §5.1.3: modified BASE64 uses "," instead of "/" and no padding.
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}


// Next code point of `s` at `i` (advanced); U+FFFD for an invalid sequence.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 0 : (c >= 0xC2 && c <= 0xDF) ? 1 : (c >= 0xE0 && c <= 0xEF) ? 2 : (c >= 0xF0 && c <= 0xF4) ? 3 : 9;
  if (n == 0) {
    ++i;
    return c;
  }
  if (n == 9 || s.size() - i <= n || !text::valid_utf8(s.substr(i, n + 1))) {
    ++i;
    return 0xFFFD;
  }
  std::uint32_t cp = c & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07);
  for (std::size_t k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n + 1;
  return cp;
}

void flush_run(std::string& out, std::vector<std::uint16_t>& units) {
  if (units.empty()) return;
  out += '&';
  std::uint32_t bits = 0;
  int nbits = 0;
  for (auto u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += kB64[(bits >> nbits) & 0x3F];
    }
  }
  if (nbits > 0) out += kB64[(bits << (6 - nbits)) & 0x3F];
  out += '-';
  units.clear();
}

tl::unexpected<NameError> bad_mutf7(std::string text) { return tl::unexpected(NameError{NameErrc::BadMutf7, std::move(text)}); }

// Decodes the base64 run of "&...-" into UTF-8; `run` excludes "&" and "-".
tl::expected<void, NameError> decode_run(std::string_view run, std::string& out) {
  std::uint32_t bits = 0;
  int nbits = 0;
  std::uint32_t high = 0;  // pending high surrogate
  for (char c : run) {
    bits = (bits << 6) | static_cast<std::uint32_t>(b64_value(c));
    nbits += 6;
    if (nbits < 16) continue;
    nbits -= 16;
    auto u = static_cast<std::uint16_t>(bits >> nbits);
    bits &= (1u << nbits) - 1;
    if (high) {
      if (u < 0xDC00 || u > 0xDFFF) return bad_mutf7("Unpaired surrogate in modified UTF-7");
      text::append_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
      high = 0;
    } else if (u >= 0xD800 && u <= 0xDBFF) {
      high = u;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return bad_mutf7("Unpaired surrogate in modified UTF-7");
    } else if (u >= 0x20 && u <= 0x7E) {
      // RFC 3501 §5.1.3: printable US-ASCII represents itself; encoding it is a second spelling.
      return bad_mutf7("Printable ASCII encoded in modified UTF-7");
    } else {
      text::append_utf8(out, u);
    }
  }
  if (high) return bad_mutf7("Unpaired surrogate in modified UTF-7");
  // A canonical run leaves fewer than 6 zero bits.
  if (nbits >= 6 || bits != 0) return bad_mutf7("Non-canonical modified UTF-7 padding");
  return {};
}

bool is_control(std::uint32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

}  // namespace

std::string mutf7_encode(std::string_view utf8) {
  std::string out;
  std::vector<std::uint16_t> units;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::uint32_t cp = next_code_point(utf8, i);
    if (cp >= 0x20 && cp <= 0x7E) {
      flush_run(out, units);
      out += static_cast<char>(cp);
      if (cp == '&') out += '-';  // RFC 3501 §5.1.3: "&" is "&-"
    } else if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<std::uint16_t>(0xD800 + (cp >> 10)));
      units.push_back(static_cast<std::uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      units.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  flush_run(out, units);
  return out;
}

tl::expected<std::string, NameError> mutf7_decode(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  std::size_t run_end = std::string_view::npos;  // just past the last "&...-" run
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7E) return bad_mutf7("8-bit or control octet in a modified UTF-7 name");
    if (c != '&') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '-') {
      out += '&';
      i += 2;
      continue;
    }
    std::size_t j = i + 1;
    while (j < s.size() && b64_value(s[j]) >= 0) ++j;
    if (j == s.size() || s[j] != '-') return bad_mutf7("Unterminated or invalid modified UTF-7 sequence");
    // Two runs in a row would be one run in the canonical encoding.
    if (run_end == i) return bad_mutf7("Adjacent modified UTF-7 sequences");
    if (auto r = decode_run(s.substr(i + 1, j - i - 1), out); !r) return tl::unexpected(r.error());
    i = j + 1;
    run_end = i;
  }
  return out;
}

tl::expected<std::string, NameError> normalize_mailbox_name(std::string_view name, const ParserLimits& limits) {
  auto fail = [](NameErrc c, std::string t) { return tl::unexpected(NameError{c, std::move(t)}); };
  if (name.empty()) return fail(NameErrc::Empty, "Empty mailbox name");
  if (name.size() > limits.mailbox_name)
    return fail(NameErrc::TooLong, "Mailbox name too long (limit " + std::to_string(limits.mailbox_name) + " octets)");
  if (!text::valid_utf8(name)) return fail(NameErrc::BadUtf8, "Mailbox name is not valid UTF-8");
  for (std::size_t i = 0; i < name.size();) {
    std::uint32_t cp = next_code_point(name, i);
    if (is_control(cp)) return fail(NameErrc::ControlChar, "Control character in mailbox name");
    if (cp == '*' || cp == '%') return fail(NameErrc::Wildcard, "Mailbox names cannot contain * or %");
  }
  std::size_t depth = 0;
  for (std::size_t pos = 0; pos <= name.size();) {
    auto slash = name.find('/', pos);
    auto comp = name.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (comp.empty()) return fail(NameErrc::EmptyComponent, "Empty hierarchy level in mailbox name");
    if (comp == "." || comp == "..") return fail(NameErrc::DotComponent, "Mailbox name levels cannot be . or ..");
    if (comp.size() > limits.mailbox_component)
      return fail(NameErrc::ComponentTooLong,
                  "Mailbox name level too long (limit " + std::to_string(limits.mailbox_component) + " octets)");
    if (++depth > limits.mailbox_depth)
      return fail(NameErrc::TooDeep, "Mailbox hierarchy too deep (limit " + std::to_string(limits.mailbox_depth) + " levels)");
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  std::string out(name);
  // RFC 9051 §5.1: INBOX is case-insensitive; only the first component (INBOX/Sub).
  if (text::istarts_with(out, "INBOX") && (out.size() == 5 || out[5] == '/')) out.replace(0, 5, "INBOX");
  return out;
}

tl::expected<std::string, NameError> mailbox_from_wire(std::string_view wire, bool utf8_mode, const ParserLimits& limits) {
  if (utf8_mode) return normalize_mailbox_name(wire, limits);
  // Bound the work before decoding: a valid name's mUTF-7 spelling is at most 2.5 times
  // its UTF-8 length ("ü" is "&APw-").
  if (wire.size() > limits.mailbox_name * 3)
    return tl::unexpected(NameError{NameErrc::TooLong, "Mailbox name too long (limit " + std::to_string(limits.mailbox_name) + " octets)"});
  auto utf8 = mutf7_decode(wire);
  if (!utf8) return tl::unexpected(utf8.error());
  return normalize_mailbox_name(*utf8, limits);
}

std::string mailbox_to_wire(std::string_view utf8, bool utf8_mode) {
  return utf8_mode ? std::string(utf8) : mutf7_encode(utf8);
}

}  // namespace valija::imap::proto
