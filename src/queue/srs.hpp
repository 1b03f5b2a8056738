#pragma once
// The Sender Rewriting Scheme (the SRS0/SRS1 forms of Shevek's "Sender Rewriting
// Scheme" paper, as libsrs2 and postsrsd use them): when valija forwards a message from
// another domain, the envelope sender becomes an address of valija's own domain, so
// SPF passes at the destination; a bounce sent back to it is verified (keyed hash,
// timestamp) and sent on to the original sender. Pure, keyed by a secret.
//
//   ana@example.com               -> SRS0=HHHH=TT=example.com=ana@forwarder.example
//   SRS0=HHHH=TT=orig.example=ana@first.example
//                                 -> SRS1=HHHH=first.example==HHHH=TT=orig.example=ana@forwarder.example
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace valija::queue {

class Srs {
 public:
  // `secret`: the HMAC key. `max_age_days`: how long a rewritten address stays valid.
  explicit Srs(std::string secret, int max_age_days = 21) : secret_(std::move(secret)), max_age_(max_age_days) {}

  // The rewritten sender for mail from `local@domain` forwarded by `our_domain`, at
  // `now` (unix time). Nullopt when the result would exceed the 64-octet local part.
  std::optional<std::string> forward(std::string_view local, std::string_view domain, std::string_view our_domain,
                                     std::int64_t now) const;
  // Whether this local part is in SRS form (case-insensitive "SRS0" or "SRS1" then a separator).
  static bool is_srs(std::string_view local);
  // The address a bounce to `local`@(one of our domains) goes to: the original sender
  // (SRS0) or the previous forwarder's SRS0 address (SRS1). Fails for a bad hash, an
  // expired timestamp, or a malformed address.
  Result<std::string> reverse(std::string_view local, std::int64_t now) const;

 private:
  std::string hash(std::string_view data) const;  // 4 base64 characters of HMAC-SHA1
  bool hash_ok(std::string_view given, std::string_view data) const;
  std::string secret_;
  int max_age_;
};

}  // namespace valija::queue
