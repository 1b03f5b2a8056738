#pragma once
// When a queued recipient is tried again, when the sender hears that it is late, and
// when the queue gives up (RFC 5321 §4.5.4.1: retry at least 30 minutes apart after
// the first tries, give up after 4-5 days). Pure: the runner passes the clock in.
#include <chrono>
#include <cstdint>
#include <vector>

namespace valija::queue {

struct RetryPolicy {
  // The waits after the first, second, ... failed attempt; after the last, `then_every`.
  std::vector<std::chrono::seconds> delays{std::chrono::minutes(5), std::chrono::minutes(10),
                                           std::chrono::minutes(20), std::chrono::minutes(40)};
  std::chrono::seconds then_every{std::chrono::hours(1)};
  std::chrono::seconds give_up_after{std::chrono::hours(24 * 5)};
  // A delay notice (DSN action "delayed") once a message has waited this long; 0: never.
  std::chrono::seconds warn_after{std::chrono::hours(4)};
};

// The next attempt after `attempts` failed ones (1 for the first failure), from `now`.
std::int64_t next_attempt(const RetryPolicy& p, std::uint32_t attempts, std::int64_t now);
// Whether a message queued at `created` has waited too long to try again after `now`.
bool expired(const RetryPolicy& p, std::int64_t created, std::int64_t now);
// Whether the delay notice is due for a message queued at `created`.
bool warning_due(const RetryPolicy& p, std::int64_t created, std::int64_t now);

}  // namespace valija::queue
