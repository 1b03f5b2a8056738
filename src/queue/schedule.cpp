#include "queue/schedule.hpp"

#include <algorithm>

namespace valija::queue {

std::int64_t next_attempt(const RetryPolicy& p, std::uint32_t attempts, std::int64_t now) {
  std::chrono::seconds wait = p.then_every;
  if (attempts >= 1 && attempts <= p.delays.size()) wait = p.delays[attempts - 1];
  return now + std::max<std::int64_t>(wait.count(), 1);
}

bool expired(const RetryPolicy& p, std::int64_t created, std::int64_t now) {
  return now - created >= p.give_up_after.count();
}

bool warning_due(const RetryPolicy& p, std::int64_t created, std::int64_t now) {
  return p.warn_after.count() > 0 && now - created >= p.warn_after.count();
}

}  // namespace valija::queue
