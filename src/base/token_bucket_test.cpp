#include "base/token_bucket.hpp"

#include <gtest/gtest.h>

namespace valija {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

TEST(TokenBucket, BurstThenRate) {
  TokenBucket b;
  Clock::time_point t{};
  t += 1h;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.take(t, 10, 10), Clock::duration::zero()) << i;
  // The 11th in the same instant waits one interval, the 12th two.
  EXPECT_EQ(b.take(t, 10, 10), 100ms);
  EXPECT_EQ(b.take(t, 10, 10), 200ms);
}

TEST(TokenBucket, SteadyClientWithinRateNeverWaits) {
  TokenBucket b;
  Clock::time_point t{};
  t += 1h;
  for (int i = 0; i < 1000; ++i, t += 100ms) EXPECT_EQ(b.take(t, 10, 1), Clock::duration::zero()) << i;
}

TEST(TokenBucket, FloodIsHeldToTheRate) {
  TokenBucket b;
  Clock::time_point t{};
  t += 1h;
  // A client that acts as soon as it is let: 1,000 actions take (1000 - burst) / rate.
  for (int i = 0; i < 1000; ++i) t += b.take(t, 100, 50);
  auto elapsed = t - (Clock::time_point{} + 1h);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed), 9500ms);
}

TEST(TokenBucket, RefillsAfterAPause) {
  TokenBucket b;
  Clock::time_point t{};
  t += 1h;
  for (int i = 0; i < 5; ++i) b.take(t, 5, 5);
  EXPECT_GT(b.take(t, 5, 5), Clock::duration::zero());
  t += 10s;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.take(t, 5, 5), Clock::duration::zero()) << i;
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  TokenBucket b;
  Clock::time_point t{};
  for (int i = 0; i < 100000; ++i) EXPECT_EQ(b.take(t, 0, 0), Clock::duration::zero());
}

}  // namespace
}  // namespace valija
