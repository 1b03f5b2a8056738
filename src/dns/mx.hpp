#pragma once
// Where mail for a domain goes (RFC 5321 §5.1), from DNS answers already fetched: pure,
// so ordering, the implicit MX and the null MX are unit-tested without a network.
//
//   MX records          -> hosts by preference, equal preferences in random order
//   no MX (NOERROR)     -> the domain itself, as if "MX 0 domain" (implicit MX)
//   "MX 0 ."            -> null MX (RFC 7505): the domain accepts no mail (556 5.1.10)
//   NXDOMAIN            -> no such domain: permanent (550 5.1.2)
//   SERVFAIL, timeout   -> try again later, never a bounce
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace valija::dns {

struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;  // lower case, no trailing dot; "" for the root (null MX)
  bool operator==(const MxRecord&) const = default;
};

// How a lookup ended. Temporary: SERVFAIL, a timeout, a refused or malformed answer.
enum class Outcome { Answer, NoData, NxDomain, Temporary };

struct MxAnswer {
  Outcome outcome = Outcome::Temporary;
  std::vector<MxRecord> records;  // with Outcome::Answer
  std::string detail;             // for logs: "SERVFAIL from 127.0.0.1", ...
};

struct MxPlan {
  enum class Kind { Hosts, NullMx, NoDomain, TryLater } kind = Kind::TryLater;
  // Hosts: the exchanges in the order to try them (with their preference, for logs).
  std::vector<MxRecord> hosts;
  bool implicit = false;  // no MX: the domain's own address records (RFC 5321 §5.1)
  std::string detail;
};

// A domain name as valija compares and shows it: lower case, without the trailing dot.
std::string canonical_name(std::string_view name);

// RFC 5321 §5.1 and RFC 7505: the hosts to try for `domain`. Equal preferences are
// shuffled with `rng` (to spread load); duplicates are dropped; a null MX (a single
// "0 ." record; also "." among others, which RFC 7505 §3 says not to publish) means no
// mail. `max_hosts` bounds what a hostile zone can make us try.
MxPlan plan_mx(std::string_view domain, const MxAnswer& answer, std::mt19937_64& rng, std::size_t max_hosts = 10);

// An MX rdata (RFC 1035 §3.3.9): 16-bit preference, then the exchange as an
// uncompressed wire-format name. Invalid input is an error, never a crash.
Result<MxRecord> parse_mx_rdata(std::span<const unsigned char> rdata);

// A wire-format name (RFC 1035 §3.1) starting at `data[0]`, uncompressed, as dotted text
// in lower case without the trailing dot ("" for the root). Sets `used` to its length.
// Labels must be at most 63 octets, the name at most 255; compression pointers and
// label types other than plain are refused (rdata from the resolver is uncompressed).
Result<std::string> parse_wire_name(std::span<const unsigned char> data, std::size_t& used);

// "example.org" -> wire format, for tests and the DNS stub; empty on an invalid name.
std::string to_wire_name(std::string_view name);

}  // namespace valija::dns
