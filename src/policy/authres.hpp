#pragma once
// Authentication-Results (RFC 8601): the one header field in which valija tells the
// mailbox owner (and their filters) what it verified about a message, under its own
// authserv-id; and the removal of fields that claim that id but came from outside
// (§5: a forged "dkim=pass" under our name must never reach a mailbox).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace valija::policy {

struct MethodResult {
  std::string method;   // "spf", "dkim", "dmarc", "iprev"
  std::string result;   // "pass", "fail", ...
  std::string comment;  // optional, without parentheses
  std::vector<std::pair<std::string, std::string>> properties;  // {"smtp.mailfrom", "a@b.example"}
};

// The complete field, one method per folded line, ending in CRLF:
//   Authentication-Results: mail.example.org;
//   	spf=pass smtp.mailfrom=a@b.example;
//   	dkim=pass header.d=b.example header.s=sel header.b=AbCdEfGh
// With no results: "Authentication-Results: mail.example.org; none". Values that are
// not a token or an address are sent as quoted strings; control characters never pass.
std::string authentication_results(std::string_view authserv_id, const std::vector<MethodResult>& results);

// The authserv-id of a field value (its first token or quoted string, CFWS skipped),
// or "" when there is none.
std::string authserv_id_of(std::string_view field_value);

// Removes, from the header section of `message`, every Authentication-Results field
// whose authserv-id equals `authserv_id` (case-insensitively, as a domain name).
// Looks at most `max_header` octets. Returns how many were removed.
std::size_t strip_authentication_results(std::string& message, std::string_view authserv_id, std::size_t max_header);

}  // namespace valija::policy
