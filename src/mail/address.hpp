#pragma once
// RFC 5321 §4.1.2 paths and mailboxes, with the RFC 6531 (SMTPUTF8) extensions.
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace valija::mail {

struct Mailbox {
  std::string local;   // unquoted form: "a b"@x has local part `a b`
  std::string domain;  // as written (lower-cased); domain literals keep their brackets
  bool domain_literal = false;
  bool utf8 = false;   // uses non-ASCII (needs SMTPUTF8)

  bool empty() const { return local.empty() && domain.empty(); }
  // Wire form for headers and logs: quotes the local part when it is not a dot-string.
  std::string str() const;
  friend bool operator==(const Mailbox&, const Mailbox&) = default;
};

struct AddressLimits {
  std::size_t local_part = 64;   // RFC 5321 §4.5.3.1.1
  std::size_t domain = 255;      // RFC 5321 §4.5.3.1.2
  std::size_t path = 256;        // RFC 5321 §4.5.3.1.3, including the angle brackets
};

enum class AddressError { Syntax, LocalTooLong, DomainTooLong, PathTooLong, Utf8NotAllowed };
std::string_view address_error_text(AddressError e);

// Parses `<[@route:]local@domain>` or `<>` (when allow_null). A source route is
// accepted and ignored (RFC 5321 §4.1.1.3, Appendix C). Returns the rest of the
// line after the closing bracket in `rest`.
tl::expected<Mailbox, AddressError> parse_path(std::string_view in, bool allow_null, bool allow_utf8,
                                               const AddressLimits& limits, std::string_view& rest);

// Parses a bare `local@domain` (admin CLI, config). No route, no brackets.
tl::expected<Mailbox, AddressError> parse_mailbox(std::string_view in, bool allow_utf8,
                                                  const AddressLimits& limits = {});

bool is_dot_string(std::string_view local, bool allow_utf8);
bool is_domain(std::string_view domain, bool allow_utf8);

}  // namespace valija::mail
