#pragma once
// The key per-client counters (login throttling, rate limits) use for an address: IPv4
// as is, an IPv4-mapped IPv6 address as its IPv4, other IPv6 by its /64 (one end site
// owns a whole /64 and can rotate through it at will). Anything else is its own key.
#include <string>
#include <string_view>

namespace valija {

std::string client_key(std::string_view ip);

// An address on the loopback interface ("127.x.y.z", "::1"): a local client (where
// cleartext logins may be allowed), or a listener no other host can reach.
bool is_loopback(std::string_view ip);

}  // namespace valija
