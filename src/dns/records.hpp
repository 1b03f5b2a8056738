#pragma once
// DNS answers as the mail-authentication checks (src/policy) (SPF, DKIM, DMARC, DNSBL, reverse DNS)
// see them (and `valija dns-check`): one query (name, type) and its answer, with records already decoded to text.
// The checks are pure: they state the queries they need and evaluate with the answers
// gathered so far (`Answers`), so they are unit-tested against tables, and the server
// runs their lookups concurrently through the resolver.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "dns/mx.hpp"

namespace valija::dns {

enum class RrType : std::uint16_t { A = 1, Ptr = 12, Mx = 15, Txt = 16, Aaaa = 28, Srv = 33 };

std::string_view type_name(RrType t);  // "A", "PTR", ...

struct Query {
  std::string name;  // canonical_name() form: lower case, no trailing dot
  RrType type = RrType::A;
  auto operator<=>(const Query&) const = default;
};

Query make_query(std::string_view name, RrType type);  // canonicalises the name

struct Answer {
  Outcome outcome = Outcome::Temporary;
  // As text, one entry per record:
  //   A, AAAA  the address ("192.0.2.1", "2001:db8::1")
  //   MX       the exchange (canonical; "" for a null MX); preference is dropped
  //   TXT      the record's character-strings concatenated (RFC 7208 §3.3, RFC 6376 §3.6.2.2)
  //   PTR      the name (canonical)
  //   SRV      "priority weight port target" (RFC 2782), the target canonical, "." for
  //            "no such service here" (RFC 6186 §4)
  std::vector<std::string> records;
  std::string detail;  // for logs: "example.org: SERVFAIL"
};

// The answers gathered for one check (or one message's checks).
class Answers {
 public:
  const Answer* find(const Query& q) const {
    auto it = map_.find(q);
    return it == map_.end() ? nullptr : &it->second;
  }
  void add(Query q, Answer a) { map_.insert_or_assign(std::move(q), std::move(a)); }
  std::size_t size() const { return map_.size(); }

 private:
  std::map<Query, Answer> map_;
};

// Decodes one record's rdata (as the resolver hands it over: uncompressed) to the text
// form above. An rdata that is not valid for its type is an error.
Result<std::string> decode_rdata(RrType type, std::span<const unsigned char> rdata);

// The reversed form of an address for PTR and DNSBL queries (RFC 1035 §3.5, RFC 3596
// §2.5, RFC 5782 §2.1): "192.0.2.1" -> "1.2.0.192", "2001:db8::1" -> 32 nibbles
// "1.0.0.0....8.b.d.0.1.0.0.2". Nullopt for something that is not an IP address.
// An IPv4-mapped IPv6 address is reversed as IPv4.
std::optional<std::string> reversed_address(std::string_view ip);
// reversed_address(ip) + ".in-addr.arpa" or ".ip6.arpa".
std::optional<std::string> ptr_name(std::string_view ip);

}  // namespace valija::dns
