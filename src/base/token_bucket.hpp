#pragma once
// A token bucket (as the generic cell rate algorithm): `rate` actions per second on
// average, bursts of up to `burst` at once. Used for commands per second per connection.
#include <chrono>

namespace valija {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // One action at `now`: how long it must wait to stay within `rate` per second with
  // bursts of `burst` (zero: at once). rate <= 0: no limit. The caller waits, then acts.
  Clock::duration take(Clock::time_point now, double rate, double burst);

 private:
  Clock::time_point next_{};  // when the bucket would be full again (theoretical arrival)
};

}  // namespace valija
