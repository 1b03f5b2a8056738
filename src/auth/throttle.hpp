#pragma once
// Failed-login throttling, shared by every protocol that takes a password (POP3, IMAP,
// SMTP AUTH), counted twice: per client address, and per account (the user name tried),
// so that an attacker spread over many addresses is slowed down too. Each failure within
// the window delays the answer more (base · 2^(n-1), capped); at `failures` (addresses)
// or `account_failures` (accounts) the address or the account is locked out for
// `lockout`, even with the right password, and a log line says so (for fail2ban-style
// tools). An account lockout also keeps its owner out for that time: its threshold is
// higher, and 0 turns it off. Memory is bounded: past `max_addresses` entries in a table
// the stalest are dropped. Thread-safe; the clock is passed in, so it is testable.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace valija::auth {

struct ThrottleLimits {
  std::size_t failures = 10;                   // per address within `window`, then locked out
  std::size_t account_failures = 30;           // per account within `window` (0: not counted)
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

  enum class Scope { Address, Account };
  // True while `key` (an address's key_of(), an account's account_key()) is locked out.
  bool locked(Scope scope, const std::string& key, Clock::time_point now);
  bool locked(const std::string& address, Clock::time_point now) { return locked(Scope::Address, address, now); }
  // Counts a failure; returns how long to wait before answering. `now_locked` tells
  // whether this failure started a lockout.
  std::chrono::milliseconds failed(Scope scope, const std::string& key, Clock::time_point now, bool& now_locked);
  std::chrono::milliseconds failed(const std::string& address, Clock::time_point now, bool& now_locked) {
    return failed(Scope::Address, address, now, now_locked);
  }
  void set_limits(ThrottleLimits limits);
  // The key failures are counted under: valija::client_key (IPv6 by its /64).
  static std::string key_of(const std::string& address);
  // The key failures of a user name are counted under: lower case.
  static std::string account_key(std::string_view user);
  std::size_t tracked(Scope scope = Scope::Address) const;

 private:
  struct Entry {
    std::size_t failures = 0;
    Clock::time_point first;         // of the current window
    Clock::time_point last;
    Clock::time_point locked_until;  // epoch: not locked
  };
  using Table = std::unordered_map<std::string, Entry>;
  void prune(Table& table, Clock::time_point now);
  Table& table(Scope s) { return s == Scope::Address ? addresses_ : accounts_; }

  mutable std::mutex mu_;
  ThrottleLimits limits_;
  Table addresses_, accounts_;
};

}  // namespace valija::auth
