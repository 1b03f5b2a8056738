#include "base/clock.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace valija::clock {

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc5322_date(std::int64_t t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string random_id(std::size_t n) {
  static constexpr char kAlphabet[] = "0123456789BCDFGHJKLMNPQRSTVWXYZ";  // 31 symbols
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    // Ids name passwords too (the demo account): without the CSPRNG there is no safe
    // fallback, so stop rather than hand out a guessable one.
    if (RAND_bytes(buf, sizeof buf) != 1) {
      std::fputs("valija: fatal: the system random number generator failed\n", stderr);
      std::abort();
    }
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 8 * 31: keeps every symbol equally likely
      out += kAlphabet[b % 31];
      if (out.size() == n) break;
    }
  }
  return out;
}

}  // namespace valija::clock
