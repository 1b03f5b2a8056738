#include "mail/transfer.hpp"

#include "base/text.hpp"

namespace valija::mail {
namespace {

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

TransferEncoding parse_transfer_encoding(std::string_view cte) {
  cte = text::trim(cte);
  if (cte.empty() || text::iequals(cte, "7bit")) return TransferEncoding::SevenBit;
  if (text::iequals(cte, "8bit")) return TransferEncoding::EightBit;
  if (text::iequals(cte, "binary")) return TransferEncoding::Binary;
  if (text::iequals(cte, "quoted-printable")) return TransferEncoding::QuotedPrintable;
  if (text::iequals(cte, "base64")) return TransferEncoding::Base64;
  return TransferEncoding::Unknown;
}

std::string decode_base64(std::string_view in, std::size_t max_out) {
  std::string out;
  out.reserve(std::min(in.size() / 4 * 3 + 3, max_out));
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (c == '=') {  // padding ends a quantum: what follows starts afresh (concatenated parts)
      acc = 0;
      bits = 0;
      continue;
    }
    int v = b64_value(c);
    if (v < 0) continue;  // RFC 2045 §6.8: characters not in the alphabet are ignored
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() >= max_out) break;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string decode_quoted_printable(std::string_view in, std::size_t max_out) {
  std::string out;
  out.reserve(std::min(in.size(), max_out));
  std::size_t i = 0;
  while (i < in.size() && out.size() < max_out) {
    // One line at a time: its text, then its line break.
    auto lf = in.find('\n', i);
    std::size_t end = lf == std::string_view::npos ? in.size() : lf;
    std::size_t text_end = (end > i && in[end - 1] == '\r') ? end - 1 : end;
    std::string_view brk = in.substr(text_end, (lf == std::string_view::npos ? in.size() : lf + 1) - text_end);
    std::string_view line = in.substr(i, text_end - i);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);  // RFC 2045 §6.7 (3)
    bool soft = !line.empty() && line.back() == '=';  // RFC 2045 §6.7 (5)
    if (soft) line.remove_suffix(1);
    for (std::size_t k = 0; k < line.size() && out.size() < max_out; ++k) {
      char c = line[k];
      if (c == '=' && k + 2 < line.size()) {
        int hi = hex_value(static_cast<unsigned char>(line[k + 1]));
        int lo = hex_value(static_cast<unsigned char>(line[k + 2]));
        if (hi >= 0 && lo >= 0) {
          out += static_cast<char>(hi * 16 + lo);
          k += 2;
          continue;
        }
      }
      out += c;  // RFC 2045 §6.7 note: a malformed "=" is kept as it is
    }
    if (!soft && out.size() + brk.size() <= max_out) out.append(brk);
    i = lf == std::string_view::npos ? in.size() : lf + 1;
  }
  if (out.size() > max_out) out.resize(max_out);
  return out;
}

DecodedBody decode_body(std::string_view body, std::string_view cte, std::size_t max_out) {
  DecodedBody d;
  switch (parse_transfer_encoding(cte)) {
    case TransferEncoding::SevenBit:
    case TransferEncoding::EightBit:
    case TransferEncoding::Binary:
      d.data.assign(body.substr(0, std::min(body.size(), max_out)));
      break;
    case TransferEncoding::QuotedPrintable:
      d.data = decode_quoted_printable(body, max_out);
      break;
    case TransferEncoding::Base64:
      d.data = decode_base64(body, max_out);
      break;
    case TransferEncoding::Unknown:
      d.unknown_encoding = true;
      d.data.assign(body.substr(0, std::min(body.size(), max_out)));
      break;
  }
  return d;
}

}  // namespace valija::mail
