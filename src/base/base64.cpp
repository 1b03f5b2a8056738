#include "base/base64.hpp"

#include <array>
#include <cstdint>

namespace valija {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string_view base64_error_text(Base64Error e) {
  switch (e) {
    case Base64Error::Length: return "base64 length is not a multiple of 4";
    case Base64Error::Character: return "invalid base64 character";
    case Base64Error::Padding: return "invalid base64 padding";
    case Base64Error::TooLong: return "base64 data too long";
  }
  return "invalid base64";
}

tl::expected<std::string, Base64Error> base64_decode(std::string_view text, std::size_t max_decoded, bool strict) {
  if (text.size() % 4 != 0) return tl::unexpected(Base64Error::Length);
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  // Bounded before allocating: the size is known from the length and the padding.
  std::size_t decoded = text.size() / 4 * 3 - pad;
  if (decoded > max_decoded) return tl::unexpected(Base64Error::TooLong);
  std::string out;
  out.reserve(decoded);
  std::size_t body = text.size() - pad;
  std::uint32_t acc = 0;
  for (std::size_t i = 0; i < body; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '=') return tl::unexpected(Base64Error::Padding);  // "=" inside the data
    std::int8_t v = kDecode[c];
    if (v < 0) return tl::unexpected(Base64Error::Character);
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (i % 4 == 3) {
      out += static_cast<char>((acc >> 16) & 0xFF);
      out += static_cast<char>((acc >> 8) & 0xFF);
      out += static_cast<char>(acc & 0xFF);
      acc = 0;
    }
  }
  // RFC 4648 §3.5: the bits the padding leaves over must be zero, so that one byte
  // string has exactly one encoding.
  if (pad == 1) {
    if (strict && (acc & 0x3)) return tl::unexpected(Base64Error::Padding);
    out += static_cast<char>((acc >> 10) & 0xFF);
    out += static_cast<char>((acc >> 2) & 0xFF);
  } else if (pad == 2) {
    if (strict && (acc & 0xF)) return tl::unexpected(Base64Error::Padding);
    out += static_cast<char>((acc >> 4) & 0xFF);
  }
  return out;
}

}  // namespace valija
