#include "base/token_bucket.hpp"

#include <algorithm>

namespace valija {

TokenBucket::Clock::duration TokenBucket::take(Clock::time_point now, double rate, double burst) {
  if (rate <= 0) return {};
  auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto tolerance = interval * static_cast<Clock::rep>(std::max(burst, 1.0) - 1.0);
  next_ = std::max(next_, now);
  auto at = std::max(now, next_ - tolerance);  // when this action may happen
  next_ += interval;
  return at - now;
}

}  // namespace valija
