#pragma once
// A cache of passwords recently verified against their Argon2id hash, so a client that
// logs in every few minutes (POP3 polling, IMAP reconnects) costs one Argon2id per TTL
// rather than one per login — what Dovecot's auth_cache does. Only successes are cached;
// a wrong password always pays the full verification (and the throttle).
//
// An entry is keyed by the stored hash string itself, so changing the password (a new
// hash, from any process: the CLI) makes the old entry unreachable. It holds an
// HMAC-SHA-256 of the password under a random key made at start, never the password.
// Bounded: past max_entries the oldest half is dropped. Thread-safe.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace valija::auth {

class VerifiedCache {
 public:
  using Clock = std::chrono::steady_clock;
  VerifiedCache(std::chrono::seconds ttl, std::size_t max_entries = 100000);

  // True when `password` was verified against `encoded` less than ttl ago.
  bool hit(const std::string& encoded, std::string_view password, Clock::time_point now);
  void remember(const std::string& encoded, std::string_view password, Clock::time_point now);
  void set_ttl(std::chrono::seconds ttl);
  std::size_t size() const;

 private:
  struct Entry {
    std::string mac;
    Clock::time_point at;
  };
  std::string mac(std::string_view password, const std::string& encoded) const;

  mutable std::mutex mu_;
  std::chrono::seconds ttl_;
  std::size_t max_;
  unsigned char key_[32];
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace valija::auth
