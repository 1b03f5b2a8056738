#pragma once
// Wall-clock helpers: RFC 5322 dates and ids. The clock is passed in where tests need it.
#include <cstdint>
#include <string>

namespace valija::clock {

// Seconds since the epoch.
std::int64_t now_unix();
// RFC 5322 §3.3 date-time in UTC, e.g. "Fri, 27 Nov 2026 00:03:05 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);
// Random id of n characters from [0-9A-Z] (no ambiguous letters), for trace and connection ids.
std::string random_id(std::size_t n);

}  // namespace valija::clock
