#pragma once
// Connection checks that ask DNS about the client's address:
//  - iprev (RFC 8601 §3, "forward-confirmed reverse DNS"): a PTR name of the address
//    whose own A/AAAA records include the address again;
//  - DNS blocklists (RFC 5782): the reversed address under a list's zone.
// Pure, in the shape of the other checks (dns/records.hpp).
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dns/records.hpp"

namespace valija::policy {

enum class IprevResult { Pass, Fail, TempError, PermError };
std::string_view iprev_name(IprevResult r);  // "pass", "fail", "temperror", "permerror"

struct IprevOutcome {
  IprevResult result = IprevResult::PermError;
  std::string name;    // the confirmed name (pass), or the first PTR name (fail), or ""
  std::string detail;  // for logs
};

class IprevCheck {
 public:
  static constexpr std::size_t kMaxNames = 10;  // PTR names followed (as SPF's §4.6.4)
  explicit IprevCheck(std::string ip);
  std::variant<IprevOutcome, std::vector<dns::Query>> evaluate(const dns::Answers& answers) const;

 private:
  std::string ip_;
};

struct BlocklistResult {
  enum class Kind { NotListed, Listed, Error } kind = Kind::NotListed;
  std::vector<std::string> codes;  // the 127.0.0.x answers when listed
  std::string detail;
};

// The A query for `ip` under `zone` ("2.0.0.127.zen.example"); nullopt for a bad address.
std::optional<dns::Query> blocklist_query(std::string_view ip, std::string_view zone);
// RFC 5782 §2.1: listed when the name has A records in 127.0.0.0/8. Answers in
// 127.255.255.0/24 are the list's error codes (a refused or rate-limited resolver),
// not listings; DNS failures are errors. Neither refuses mail.
BlocklistResult blocklist_result(const dns::Answer& a);

}  // namespace valija::policy
