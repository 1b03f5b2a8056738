#include "base/clock.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <chrono>
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
  std::string out(n, '0');
  unsigned char buf[64];
  if (n > sizeof buf) n = sizeof buf;
  RAND_bytes(buf, static_cast<int>(n));
  for (std::size_t i = 0; i < n; ++i) out[i] = kAlphabet[buf[i] % 31];
  return out;
}

}  // namespace valija::clock
