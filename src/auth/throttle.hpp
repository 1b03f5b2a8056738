#pragma once
// Failed-login throttling per client address, shared by every protocol that takes a
// password (POP3 now, IMAP and SMTP AUTH later). Each failure within the window delays
// the answer more (base · 2^(n-1), capped); at `failures` the address is locked out for
// `lockout`, even with the right password, and a log line says so (for fail2ban-style
// tools). Memory is bounded: past `max_addresses` the stalest entries are dropped.
// Thread-safe; the clock is passed in, so it is testable.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace valija::auth {

struct ThrottleLimits {
  std::size_t failures = 10;                   // within `window`, then locked out
  std::chrono::seconds window{900};
  std::chrono::seconds lockout{900};
  std::chrono::milliseconds base_delay{500};   // delay after the first failure
  std::chrono::milliseconds max_delay{8000};
  std::size_t max_addresses = 100000;
};

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(ThrottleLimits limits = {}) : limits_(limits) {}

  // True while `address` is locked out.
  bool locked(const std::string& address, Clock::time_point now);
  // Counts a failure; returns how long to wait before answering. `now_locked` tells
  // whether this failure started a lockout.
  std::chrono::milliseconds failed(const std::string& address, Clock::time_point now, bool& now_locked);
  void set_limits(ThrottleLimits limits);
  // The key failures are counted under: an IPv4 address as is, an IPv6 address by its
  // /64 (one end site can rotate through the addresses of its prefix at will).
  static std::string key_of(const std::string& address);
  std::size_t tracked() const;

 private:
  struct Entry {
    std::size_t failures = 0;
    Clock::time_point first;         // of the current window
    Clock::time_point last;
    Clock::time_point locked_until;  // epoch: not locked
  };
  void prune(Clock::time_point now);

  mutable std::mutex mu_;
  ThrottleLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace valija::auth
