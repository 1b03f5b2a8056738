#pragma once
// Helpers shared by the SPF files (spf*.cpp); not part of the module's interface.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace valija::policy::spf::detail {

// A client or record address. An IPv4-mapped IPv6 address is IPv4 (RFC 7208 §5: the
// connection's family decides A or AAAA, and %{i}/%{v} follow it).
struct Address {
  bool v4 = false;
  std::array<unsigned char, 16> octets{};  // IPv4 in the first four
};

std::optional<Address> parse_address(std::string_view text);
// Whether `a` lies in `network`/`bits` of the same family (RFC 7208 §5.6).
bool in_network(const Address& a, const std::array<unsigned char, 16>& network, int bits);
// "192.0.2.1" or the RFC 5952 text of an IPv6 address (%{c}).
std::string readable(const Address& a);
// "192.0.2.1", or 32 dot-separated nibbles for IPv6 (%{i}, RFC 7208 §7.3).
std::string dotted(const Address& a);

// RFC 7208 §4.3: a <domain> check_host() may evaluate: at least two labels of letters,
// digits, '-' or '_', each 1..63 octets, at most 253 in all, the last not all digits
// (so no address literal). Trailing dot allowed.
bool valid_domain(std::string_view name);
// RFC 7208 §7.3, §4.8: an expanded domain-spec as a name to query. A trailing dot is
// dropped, then labels are removed from the left until it fits 253 octets. Nullopt when
// it has an empty or overlong label, or octets a query name cannot carry (controls,
// space, 8-bit, backslash: the resolver reads names as presentation text).
std::optional<std::string> target_name(std::string_view expanded);
// `name` equals `domain` or is below it (label boundary), ignoring case.
bool within(std::string_view name, std::string_view domain);

// Whether a (valid) macro-string uses %{p}, which costs DNS queries to expand.
bool uses_validated_name(std::string_view macro_string);

// Printable ASCII for messages and logs: other octets become '?', and at most `max`
// characters are kept (with "..." when cut).
std::string shown(std::string_view s, std::size_t max = 80);

}  // namespace valija::policy::spf::detail
