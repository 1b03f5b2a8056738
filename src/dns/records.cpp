#include "dns/records.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

namespace valija::dns {

std::string_view type_name(RrType t) {
  switch (t) {
    case RrType::A: return "A";
    case RrType::Ptr: return "PTR";
    case RrType::Mx: return "MX";
    case RrType::Txt: return "TXT";
    case RrType::Aaaa: return "AAAA";
    case RrType::Srv: return "SRV";
  }
  return "?";
}

Query make_query(std::string_view name, RrType type) { return Query{canonical_name(name), type}; }

Result<std::string> decode_rdata(RrType type, std::span<const unsigned char> rdata) {
  switch (type) {
    case RrType::A:
    case RrType::Aaaa: {
      std::size_t want = type == RrType::A ? 4 : 16;
      if (rdata.size() != want) return fail(Errc::Invalid, fmt::format("{} record of {} octets", type_name(type), rdata.size()));
      char text[INET6_ADDRSTRLEN] = {};
      if (!::inet_ntop(type == RrType::A ? AF_INET : AF_INET6, rdata.data(), text, sizeof text))
        return fail(Errc::Invalid, "unprintable address");
      return std::string(text);
    }
    case RrType::Mx: {
      auto mx = parse_mx_rdata(rdata);
      if (!mx) return tl::unexpected(mx.error());
      return std::move(mx->exchange);
    }
    case RrType::Ptr: {
      std::size_t used = 0;
      auto name = parse_wire_name(rdata, used);
      if (!name) return tl::unexpected(name.error());
      if (used != rdata.size()) return fail(Errc::Invalid, "PTR record with trailing octets");
      return std::move(*name);
    }
    case RrType::Srv: {
      // RFC 2782: priority, weight, port (16 bits each), then the target, uncompressed.
      if (rdata.size() < 7) return fail(Errc::Invalid, "SRV rdata too short");
      auto u16 = [&](std::size_t i) { return static_cast<unsigned>(rdata[i] << 8 | rdata[i + 1]); };
      std::size_t used = 0;
      auto target = parse_wire_name(rdata.subspan(6), used);
      if (!target) return tl::unexpected(target.error());
      if (6 + used != rdata.size()) return fail(Errc::Invalid, "SRV rdata has octets after the target");
      return fmt::format("{} {} {} {}", u16(0), u16(2), u16(4), target->empty() ? "." : *target);
    }
    case RrType::Txt: {
      // RFC 1035 §3.3.14: one or more <character-string>s, each a length octet and text.
      std::string out;
      std::size_t i = 0;
      if (rdata.empty()) return fail(Errc::Invalid, "empty TXT record");
      while (i < rdata.size()) {
        std::size_t len = rdata[i++];
        if (len > rdata.size() - i) return fail(Errc::Invalid, "TXT character-string runs past the record");
        out.append(reinterpret_cast<const char*>(rdata.data() + i), len);
        i += len;
      }
      return out;
    }
  }
  return fail(Errc::Invalid, "unknown record type");
}

std::optional<std::string> reversed_address(std::string_view ip) {
  std::string s(ip);
  unsigned char b[16];
  if (::inet_pton(AF_INET, s.c_str(), b) == 1) return fmt::format("{}.{}.{}.{}", b[3], b[2], b[1], b[0]);
  if (::inet_pton(AF_INET6, s.c_str(), b) != 1) return std::nullopt;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(b, b + 12, kMapped)) return fmt::format("{}.{}.{}.{}", b[15], b[14], b[13], b[12]);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(63);
  for (int i = 15; i >= 0; --i) {
    if (!out.empty()) out += '.';
    out += kHex[b[i] & 0xf];
    out += '.';
    out += kHex[b[i] >> 4];
  }
  return out;
}

std::optional<std::string> ptr_name(std::string_view ip) {
  auto r = reversed_address(ip);
  if (!r) return std::nullopt;
  bool v4 = std::count(r->begin(), r->end(), '.') == 3;
  return *r + (v4 ? ".in-addr.arpa" : ".ip6.arpa");
}

}  // namespace valija::dns
