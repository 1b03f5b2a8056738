#include "auth/throttle.hpp"

#include <algorithm>

#include "base/client_key.hpp"
#include "base/evict.hpp"
#include "base/text.hpp"

namespace valija::auth {

bool Throttle::locked(Scope scope, const std::string& key, Clock::time_point now) {
  std::lock_guard l(mu_);
  auto& entries = table(scope);
  auto it = entries.find(key);
  return it != entries.end() && it->second.locked_until > now;
}

std::chrono::milliseconds Throttle::failed(Scope scope, const std::string& key, Clock::time_point now,
                                           bool& now_locked) {
  std::lock_guard l(mu_);
  now_locked = false;
  std::size_t limit = scope == Scope::Address ? limits_.failures : limits_.account_failures;
  if (limit == 0) return std::chrono::milliseconds(0);
  auto& entries = table(scope);
  if (entries.size() >= limits_.max_addresses && !entries.count(key)) prune(entries, now);
  auto& e = entries[key];
  if (e.failures == 0 || now - e.first > limits_.window) {
    e.failures = 0;
    e.first = now;
  }
  ++e.failures;
  e.last = now;
  if (e.failures >= limit && e.locked_until <= now) {
    e.locked_until = now + limits_.lockout;
    now_locked = true;
  }
  auto delay = limits_.base_delay;
  for (std::size_t i = 1; i < e.failures && delay < limits_.max_delay; ++i) delay *= 2;
  return std::min(delay, limits_.max_delay);
}

std::string Throttle::key_of(const std::string& address) { return client_key(address); }

void Throttle::set_limits(ThrottleLimits limits) {
  std::lock_guard l(mu_);
  limits_ = limits;
}

std::string Throttle::account_key(std::string_view user) { return text::to_lower(user); }

std::size_t Throttle::tracked(Scope scope) const {
  std::lock_guard l(mu_);
  return scope == Scope::Address ? addresses_.size() : accounts_.size();
}

// Drops entries whose window and lockout are over; if that is not enough, the half
// that failed longest ago, sparing locked-out addresses while others can go (a flood of
// addresses must not grow memory without bound, nor free an attacker from a lockout).
void Throttle::prune(Table& entries, Clock::time_point now) {
  for (auto it = entries.begin(); it != entries.end();) {
    const auto& e = it->second;
    if (now - e.last > limits_.window && e.locked_until <= now) it = entries.erase(it);
    else ++it;
  }
  if (entries.size() < limits_.max_addresses) return;
  drop_older_half(
      entries, [](const Entry& e) { return e.last; }, [now](const Entry& e) { return e.locked_until > now; });
}

}  // namespace valija::auth
