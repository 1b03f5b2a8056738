#include "policy/rate_limit.hpp"

#include <gtest/gtest.h>

namespace valija::policy {
namespace {

TEST(RateLimit, AllowsUpToTheLimitPerWindow) {
  RateLimiter r(3, 60);
  EXPECT_TRUE(r.allow("192.0.2.1", 600));
  EXPECT_TRUE(r.allow("192.0.2.1", 601));
  EXPECT_TRUE(r.allow("192.0.2.1", 602));
  EXPECT_FALSE(r.allow("192.0.2.1", 603));
  EXPECT_TRUE(r.allow("192.0.2.2", 603));  // another client is not affected
  EXPECT_GT(r.retry_after("192.0.2.1", 603), 0);
  EXPECT_EQ(r.retry_after("192.0.2.2", 603), 0);
}

TEST(RateLimit, TheWindowSlides) {
  RateLimiter r(4, 60);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.allow("k", 630));  // the middle of window 600..659
  // At 660 the previous window weighs fully: still 4.
  EXPECT_FALSE(r.allow("k", 660));
  // At 675 a quarter of it has slid out: 3 + 1 fits, then no more.
  EXPECT_TRUE(r.allow("k", 675));
  EXPECT_FALSE(r.allow("k", 676));
  // Two windows later everything is forgotten.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.allow("k", 800));
}

TEST(RateLimit, RetryAfterIsWhenTheNextEventFits) {
  RateLimiter r(2, 60);
  EXPECT_TRUE(r.allow("k", 600));
  EXPECT_TRUE(r.allow("k", 600));
  auto wait = r.retry_after("k", 610);
  ASSERT_GT(wait, 0);
  EXPECT_FALSE(r.allow("k", 610 + wait - 1));
  EXPECT_TRUE(r.allow("k", 610 + wait));
}

TEST(RateLimit, ZeroIsUnlimitedAndMemoryIsBounded) {
  RateLimiter unlimited(0, 60);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.allow("k", 1));
  EXPECT_EQ(unlimited.keys(), 0u);
  RateLimiter r(1, 60, 100);
  for (int i = 0; i < 1000; ++i) r.allow("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), i);
  EXPECT_LE(r.keys(), 100u);
}

}  // namespace
}  // namespace valija::policy
