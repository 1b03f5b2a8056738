#pragma once
// Per-client rate limits (connections per minute, messages per hour, ...): a sliding
// window per key, approximated from two fixed windows (the previous window's count
// weighted by how much of it still overlaps), so each key costs a few words whatever
// the rate. Bounded: when `max_keys` keys are tracked the older half is dropped (a
// flood of distinct addresses forgets old clients; it never grows memory). Thread-safe.
// Keys for client addresses: valija::client_key (base/client_key.hpp).
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace valija::policy {

class RateLimiter {
 public:
  // `limit` events per `window_seconds`; limit 0 = unlimited.
  RateLimiter(std::uint64_t limit, std::int64_t window_seconds, std::size_t max_keys = 100000);

  // Counts one event of `key` at `now` (unix seconds) unless that would pass the limit:
  // then false, and nothing is counted.
  bool allow(std::string_view key, std::int64_t now);
  // Seconds until `key` may have one more event (0 when it may now).
  std::int64_t retry_after(std::string_view key, std::int64_t now);
  std::size_t keys() const;
  std::uint64_t limit() const { return limit_; }

 private:
  struct Counts {
    std::int64_t window = 0;  // start of the current fixed window
    std::uint64_t current = 0, previous = 0;
  };
  void roll(Counts& c, std::int64_t now) const;
  double estimate(const Counts& c, std::int64_t now) const;

  std::uint64_t limit_;
  std::int64_t window_;
  std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Counts> counts_;
};

}  // namespace valija::policy
