#pragma once
// What a server offers in its EHLO reply (RFC 5321 §4.1.1.1 and the extensions' RFCs),
// as the client uses it: each keyword once, case-insensitive, unknown ones ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp/proto/reply.hpp"

namespace valija::smtp::client {

struct Capabilities {
  std::string greeting;   // the first line: the server's name and text
  bool pipelining = false;        // RFC 2920
  bool eight_bit_mime = false;    // RFC 6152
  bool binary_mime = false;       // RFC 3030
  bool chunking = false;          // RFC 3030
  bool smtputf8 = false;          // RFC 6531
  bool starttls = false;          // RFC 3207
  bool requiretls = false;        // RFC 8689
  bool dsn = false;               // RFC 3461
  bool enhanced_status = false;   // RFC 2034
  // RFC 1870: SIZE with the largest message accepted; 0 when announced without a limit.
  std::optional<std::uint64_t> size;
  std::vector<std::string> auth;  // RFC 4954 mechanisms, upper case

  bool offers_auth(std::string_view mechanism) const;
};

// From a 250 reply to EHLO; anything else gives no extensions (a HELO-only server).
Capabilities parse_ehlo(const proto::Reply& reply);

}  // namespace valija::smtp::client
