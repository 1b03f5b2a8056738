#include "auth/verified_cache.hpp"

#include <gtest/gtest.h>

namespace valija::auth {
namespace {

using namespace std::chrono_literals;

TEST(VerifiedCache, OnlyTheVerifiedPasswordForThatHashWithinTtl) {
  VerifiedCache c(60s);
  auto now = VerifiedCache::Clock::time_point{} + 1h;
  const std::string hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
  EXPECT_FALSE(c.hit(hash, "secret", now));
  c.remember(hash, "secret", now);
  EXPECT_TRUE(c.hit(hash, "secret", now + 59s));
  EXPECT_FALSE(c.hit(hash, "Secret", now));
  EXPECT_FALSE(c.hit(hash, std::string_view("secret\0x", 8), now));
  EXPECT_FALSE(c.hit(hash + "x", "secret", now));  // a changed password (new hash) misses
  EXPECT_FALSE(c.hit(hash, "secret", now + 60s));   // expired
  EXPECT_FALSE(c.hit(hash, "secret", now + 1s));    // and gone
}

TEST(VerifiedCache, ZeroTtlCachesNothing) {
  VerifiedCache c(0s);
  auto now = VerifiedCache::Clock::time_point{} + 1h;
  c.remember("h", "p", now);
  EXPECT_FALSE(c.hit("h", "p", now));
  EXPECT_EQ(c.size(), 0u);
}

TEST(VerifiedCache, Bounded) {
  VerifiedCache c(3600s, 100);
  auto now = VerifiedCache::Clock::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i) c.remember("hash" + std::to_string(i), "p", now + std::chrono::milliseconds(i));
  EXPECT_LE(c.size(), 100u);
  EXPECT_TRUE(c.hit("hash999", "p", now + 2s));
}

}  // namespace
}  // namespace valija::auth
