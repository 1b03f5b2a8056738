#include "policy/rate_limit.hpp"

#include <algorithm>
#include <cmath>

#include "base/evict.hpp"

namespace valija::policy {

RateLimiter::RateLimiter(std::uint64_t limit, std::int64_t window_seconds, std::size_t max_keys)
    : limit_(limit), window_(window_seconds > 0 ? window_seconds : 1), max_keys_(max_keys > 1 ? max_keys : 2) {}

void RateLimiter::roll(Counts& c, std::int64_t now) const {
  std::int64_t start = now - ((now % window_) + window_) % window_;
  if (start == c.window) return;
  c.previous = start - c.window == window_ ? c.current : 0;
  c.current = 0;
  c.window = start;
}

double RateLimiter::estimate(const Counts& c, std::int64_t now) const {
  double into = static_cast<double>(now - c.window) / static_cast<double>(window_);
  return static_cast<double>(c.previous) * (1.0 - into) + static_cast<double>(c.current);
}

bool RateLimiter::allow(std::string_view key, std::int64_t now) {
  if (limit_ == 0) return true;
  std::lock_guard lock(mu_);
  auto it = counts_.find(std::string(key));
  if (it == counts_.end()) {
    if (counts_.size() >= max_keys_)
      drop_older_half(counts_, [](const Counts& c) { return c.window; }, [](const Counts&) { return false; });
    it = counts_.emplace(std::string(key), Counts{}).first;
  }
  roll(it->second, now);
  if (estimate(it->second, now) + 1.0 > static_cast<double>(limit_)) return false;
  ++it->second.current;
  return true;
}

std::int64_t RateLimiter::retry_after(std::string_view key, std::int64_t now) {
  if (limit_ == 0) return 0;
  std::lock_guard lock(mu_);
  auto it = counts_.find(std::string(key));
  if (it == counts_.end()) return 0;
  Counts c = it->second;
  roll(c, now);
  if (estimate(c, now) + 1.0 <= static_cast<double>(limit_)) return 0;
  // The estimate falls as the previous window slides out; at the next boundary this
  // window's count becomes the one sliding out.
  double limit = static_cast<double>(limit_);
  auto fraction = [limit](double previous, double current) -> double {  // of the window to wait, or > 1
    if (current + 1.0 > limit) return 2.0;
    if (previous <= 0.0) return 0.0;
    return std::max(0.0, (previous + current + 1.0 - limit) / previous);
  };
  double f = fraction(static_cast<double>(c.previous), static_cast<double>(c.current));
  std::int64_t at = f <= 1.0 ? c.window + static_cast<std::int64_t>(std::ceil(f * static_cast<double>(window_)))
                             : c.window + window_ + static_cast<std::int64_t>(std::ceil(
                                   fraction(static_cast<double>(c.current), 0.0) * static_cast<double>(window_)));
  return std::max<std::int64_t>(1, at - now);
}

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}


}  // namespace valija::policy
